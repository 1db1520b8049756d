-- An example of the ocpp-cs function mode (`backend: "pgFunction"`): the schema `ocpp` with the two functions
-- ocpp-router calls. Contract: docs/postgres.md. Install with
--   psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f conf/postgres/ocpp-example.sql
-- It keeps every station CALL and every connect/disconnect, and answers the core messages of OCPP 1.5/1.6
-- and 2.0.1/2.1 the way a permissive central system would. Replace the bodies with your business logic.

CREATE SCHEMA IF NOT EXISTS ocpp;

CREATE TABLE IF NOT EXISTS ocpp.charge_point (
  identity      text PRIMARY KEY,
  connected     boolean NOT NULL,
  metadata      jsonb NOT NULL DEFAULT '{}',
  updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS ocpp.message (
  id            bigserial PRIMARY KEY,
  identity      text NOT NULL,
  unique_id     text NOT NULL,
  action        text NOT NULL,
  payload       jsonb NOT NULL,
  account       text,
  version       text,
  received_at   timestamptz NOT NULL DEFAULT now()
);

CREATE SEQUENCE IF NOT EXISTS ocpp.transaction_id;

-- Called for every station CALL. Returns the answer as JSON:
--   {"messageTypeId": "CallResult", "payload": {...}}                      the CALLRESULT
--   {"messageTypeId": "CallError", "errorCode": "...", "errorDescription": "...", "errorDetails": {...}}
-- pVersion is "ocpp1.5", "ocpp1.6", "ocpp2.0.1" or "ocpp2.1" (leave it out for the 5-argument form).
CREATE OR REPLACE FUNCTION ocpp.Parse(pIdentity text, pUniqueId text, pAction text, pPayload jsonb, pAccount text, pVersion text)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
  now_utc text := to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
  v2 boolean := pVersion LIKE 'ocpp2%';
  answer jsonb;
BEGIN
  INSERT INTO ocpp.message (identity, unique_id, action, payload, account, version)
  VALUES (pIdentity, pUniqueId, pAction, pPayload, pAccount, pVersion);

  CASE pAction
    WHEN 'BootNotification' THEN
      answer := jsonb_build_object('status', 'Accepted', 'currentTime', now_utc, 'interval', 300);
    WHEN 'Heartbeat' THEN
      answer := jsonb_build_object('currentTime', now_utc);
    WHEN 'StatusNotification', 'MeterValues', 'DiagnosticsStatusNotification', 'FirmwareStatusNotification',
         'SecurityEventNotification', 'LogStatusNotification', 'NotifyReport', 'NotifyEvent' THEN
      answer := '{}'::jsonb;
    WHEN 'Authorize' THEN
      answer := jsonb_build_object('idTokenInfo', jsonb_build_object('status', 'Accepted'));
      IF NOT v2 THEN answer := jsonb_build_object('idTagInfo', jsonb_build_object('status', 'Accepted')); END IF;
    WHEN 'StartTransaction' THEN
      answer := jsonb_build_object('transactionId', nextval('ocpp.transaction_id'),
                                   'idTagInfo', jsonb_build_object('status', 'Accepted'));
    WHEN 'StopTransaction' THEN
      answer := jsonb_build_object('idTagInfo', jsonb_build_object('status', 'Accepted'));
    WHEN 'TransactionEvent' THEN
      answer := CASE WHEN pPayload ? 'idToken'
                     THEN jsonb_build_object('idTokenInfo', jsonb_build_object('status', 'Accepted'))
                     ELSE '{}'::jsonb END;
    WHEN 'DataTransfer' THEN
      answer := jsonb_build_object('status', 'UnknownVendorId');
    ELSE
      RETURN json_build_object('messageTypeId', 'CallError', 'errorCode', 'NotImplemented',
                               'errorDescription', pAction || ' is not handled by ocpp.Parse',
                               'errorDetails', json_build_object('action', pAction));
  END CASE;

  RETURN json_build_object('messageTypeId', 'CallResult', 'payload', answer);
END;
$$;

-- Called when a station's newest WebSocket connection opens (connected = true) or closes (false). metadata:
-- {"transport", "protocol", "remoteAddress" (on connect), "account", "replaced" (on connect), "code" and
-- "reason" (on disconnect), "at"}.
CREATE OR REPLACE FUNCTION ocpp.SetChargePointConnected(pIdentity text, pConnected boolean, pMetadata jsonb)
RETURNS void LANGUAGE sql AS $$
  INSERT INTO ocpp.charge_point (identity, connected, metadata, updated_at)
  VALUES (pIdentity, pConnected, pMetadata, now())
  ON CONFLICT (identity) DO UPDATE SET connected = excluded.connected, metadata = excluded.metadata, updated_at = now();
$$;
