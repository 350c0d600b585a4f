-- herald sqlstore schema, version 1 (PostgreSQL).
--
-- Conventions: every timestamp is a BIGINT of microseconds since the Unix
-- epoch, UTC, where 0 stands for Go's zero time.Time. Maps, slices and
-- nested records are TEXT holding JSON, NULL when empty. Text fields the
-- Go types leave empty are '' (never NULL). Every table is prefixed with
-- herald_ so the schema can share a database with the host's own tables.

CREATE TABLE herald_messages (
    seq                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id                   TEXT    NOT NULL,
    org_id               TEXT    NOT NULL,
    idempotency_key      TEXT    NOT NULL,
    campaign_id          TEXT    NOT NULL DEFAULT '',
    contact_id           TEXT    NOT NULL DEFAULT '',
    channel              TEXT    NOT NULL,
    to_addr              TEXT    NOT NULL DEFAULT '',
    from_addr            TEXT    NOT NULL DEFAULT '',
    subject              TEXT    NOT NULL DEFAULT '',
    body                 TEXT    NOT NULL DEFAULT '',
    html                 TEXT    NOT NULL DEFAULT '',
    media                TEXT,
    data                 TEXT,
    urgency              TEXT    NOT NULL DEFAULT '',
    ttl_ns               BIGINT  NOT NULL DEFAULT 0,
    send_at              BIGINT  NOT NULL DEFAULT 0,
    send_before          BIGINT  NOT NULL DEFAULT 0,
    vendor               TEXT    NOT NULL DEFAULT '',
    vendor_message_id    TEXT    NOT NULL DEFAULT '',
    messaging_service_id TEXT    NOT NULL DEFAULT '',
    status               TEXT    NOT NULL,
    error_code           TEXT    NOT NULL DEFAULT '',
    reason               TEXT    NOT NULL DEFAULT '',
    attempts             INTEGER NOT NULL DEFAULT 0,
    lease_owner          TEXT    NOT NULL DEFAULT '',
    lease_until          BIGINT  NOT NULL DEFAULT 0,
    created_at           BIGINT  NOT NULL,
    updated_at           BIGINT  NOT NULL,
    sent_at              BIGINT  NOT NULL DEFAULT 0,
    meta                 TEXT,
    CONSTRAINT herald_messages_id_key UNIQUE (id),
    CONSTRAINT herald_messages_idempotency_key UNIQUE (org_id, idempotency_key)
) WITH (fillfactor = 80); -- room in each page for HOT updates (claims, leases)
-- Delivery reports: (org, vendor, vendor message ID).
CREATE INDEX herald_messages_vendor_id ON herald_messages (org_id, vendor, vendor_message_id)
    WHERE vendor_message_id <> '';
-- LatestMessageTo: newest message to an address.
CREATE INDEX herald_messages_to ON herald_messages (org_id, to_addr, created_at, seq);
-- ListMessages, by organization, campaign or contact, oldest first.
CREATE INDEX herald_messages_org ON herald_messages (org_id, created_at, seq);
CREATE INDEX herald_messages_campaign ON herald_messages (org_id, campaign_id, created_at, seq);
CREATE INDEX herald_messages_contact ON herald_messages (org_id, contact_id, created_at, seq);
-- ClaimDue: pending work in due order, and sending work (whose lease may
-- have expired). Only unfinished messages are in these indexes. No index
-- holds the lease columns, so that a claim, which changes only the lease,
-- rewrites no index entry (on PostgreSQL, a HOT update).
CREATE INDEX herald_messages_due ON herald_messages (send_at, created_at, seq)
    WHERE status IN ('queued', 'scheduled');
CREATE INDEX herald_messages_sending ON herald_messages (send_at, created_at, seq)
    WHERE status = 'sending';

CREATE TABLE herald_message_events (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id  TEXT    NOT NULL REFERENCES herald_messages (id),
    org_id      TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    engagement  TEXT    NOT NULL DEFAULT '',
    at          BIGINT  NOT NULL,
    source      TEXT    NOT NULL DEFAULT '',
    vendor_code TEXT    NOT NULL DEFAULT '',
    reason      TEXT    NOT NULL DEFAULT '',
    applied     BOOLEAN NOT NULL
);
CREATE INDEX herald_message_events_message ON herald_message_events (message_id, seq);

CREATE TABLE herald_contacts (
    org_id        TEXT   NOT NULL,
    id            TEXT   NOT NULL,
    campaign_id   TEXT   NOT NULL DEFAULT '',
    external_id   TEXT   NOT NULL DEFAULT '',
    first_name    TEXT   NOT NULL DEFAULT '',
    last_name     TEXT   NOT NULL DEFAULT '',
    phone         TEXT   NOT NULL DEFAULT '',
    email         TEXT   NOT NULL DEFAULT '',
    zip           TEXT   NOT NULL DEFAULT '',
    owner         TEXT   NOT NULL DEFAULT '',
    timezone      TEXT   NOT NULL DEFAULT '',
    custom_fields TEXT,
    devices       TEXT,
    lookup        TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (org_id, id)
);
CREATE INDEX herald_contacts_campaign ON herald_contacts (org_id, campaign_id, id);

-- Every address a contact is found by (phone, email, device tokens).
CREATE TABLE herald_contact_addresses (
    org_id     TEXT NOT NULL,
    address    TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    PRIMARY KEY (org_id, address, contact_id)
);
CREATE INDEX herald_contact_addresses_contact ON herald_contact_addresses (org_id, contact_id);

-- scope is herald.OptOutScope(channel): '' covers every channel.
CREATE TABLE herald_opt_outs (
    org_id      TEXT   NOT NULL,
    address     TEXT   NOT NULL,
    scope       TEXT   NOT NULL,
    channel     TEXT   NOT NULL DEFAULT '',
    reason      TEXT   NOT NULL DEFAULT '',
    source      TEXT   NOT NULL DEFAULT '',
    campaign_id TEXT   NOT NULL DEFAULT '',
    contact_id  TEXT   NOT NULL DEFAULT '',
    at          BIGINT NOT NULL,
    PRIMARY KEY (org_id, address, scope)
);

CREATE TABLE herald_campaigns (
    org_id               TEXT   NOT NULL,
    id                   TEXT   NOT NULL,
    title                TEXT   NOT NULL DEFAULT '',
    state                TEXT   NOT NULL DEFAULT '',
    messaging_service_id TEXT   NOT NULL DEFAULT '',
    features             TEXT,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    PRIMARY KEY (org_id, id)
);

CREATE TABLE herald_organizations (
    id            TEXT   NOT NULL PRIMARY KEY,
    name          TEXT   NOT NULL DEFAULT '',
    features      TEXT,
    vendor_config TEXT,
    created_at    BIGINT NOT NULL
);

CREATE TABLE herald_numbers (
    org_id          TEXT   NOT NULL,
    vendor          TEXT   NOT NULL,
    number          TEXT   NOT NULL,
    vendor_id       TEXT   NOT NULL DEFAULT '',
    area_code       TEXT   NOT NULL DEFAULT '',
    country         TEXT   NOT NULL DEFAULT '',
    allocated_to    TEXT   NOT NULL DEFAULT '',
    allocated_to_id TEXT   NOT NULL DEFAULT '',
    allocated_at    BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (org_id, vendor, number)
);
CREATE INDEX herald_numbers_org_number ON herald_numbers (org_id, number, vendor);
CREATE INDEX herald_numbers_allocation ON herald_numbers (org_id, allocated_to, allocated_to_id);

CREATE TABLE herald_state (
    org_id    TEXT  NOT NULL,
    namespace TEXT  NOT NULL,
    state_key TEXT  NOT NULL,
    value     BYTEA NOT NULL,
    PRIMARY KEY (org_id, namespace, state_key)
);

CREATE TABLE herald_seen_events (
    org_id   TEXT   NOT NULL,
    vendor   TEXT   NOT NULL,
    event_id TEXT   NOT NULL,
    at       BIGINT NOT NULL,
    PRIMARY KEY (org_id, vendor, event_id)
);

CREATE TABLE herald_pending_reports (
    seq               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id            TEXT   NOT NULL,
    vendor            TEXT   NOT NULL,
    vendor_message_id TEXT   NOT NULL,
    at                BIGINT NOT NULL,
    report            TEXT   NOT NULL
);
CREATE INDEX herald_pending_reports_key ON herald_pending_reports (org_id, vendor, vendor_message_id);
