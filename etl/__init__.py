"""ETL: jobs that move data into the onemap layers (they depend on layers/, never on gis_server/)."""
