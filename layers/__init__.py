"""The domain: what each onemap layer is (table, OGC metadata, style, rules).

Other packages iterate `layers.registry.LAYERS` instead of naming layers.
"""
