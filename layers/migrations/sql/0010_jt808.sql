-- JT/T 808 terminals (车载终端): which vehicle each terminal (by its SIM phone number)
-- reports for, and what its last registration left (the auth code handed out, the
-- plate it sent), so terminals authenticate again after a restart of the listener.
-- A row comes from `onemap feed terminals add PHONE VEHICLE` (auth_code NULL until the
-- terminal registers) or from a registration whose plate matched vehicles.plate.

CREATE TABLE jt808_terminals (
    phone         text PRIMARY KEY CHECK (phone ~ '^[0-9]{1,20}$'),
    vehicle_code  text NOT NULL,  -- vehicles.code (no foreign key: the demo reload truncates vehicles)
    auth_code     text,
    plate         text,
    registered_at timestamptz,
    last_seen_at  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX jt808_terminals_vehicle ON jt808_terminals (vehicle_code);
