-- PruneWebhookState deletes seen events and parked reports by age.
CREATE INDEX herald_seen_events_at ON herald_seen_events (at);
CREATE INDEX herald_pending_reports_at ON herald_pending_reports (at);
