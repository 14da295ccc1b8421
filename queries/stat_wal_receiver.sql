-- pg_stat_wal_receiver (PostgreSQL 13+): on a standby, the WAL receiver's
-- upstream host, slot and positions, as postgres_exporter's
-- stat_wal_receiver collector reads them (positions in bytes modulo 2^52,
-- times in Unix seconds, the repmgr node id from the slot name). A receiver
-- with any of these unknown is left out, as there. Empty on a primary.
SELECT upstream_host, slot_name, status, receive_start_lsn, flushed_lsn,
       receive_start_tli, received_tli, last_msg_send_time,
       last_msg_receipt_time, latest_end_lsn, latest_end_time, upstream_node
FROM (
    SELECT trim(both '''' FROM substring(conninfo FROM 'host=([^ ]*)'))::text AS upstream_host,
           slot_name::text AS slot_name,
           status::text AS status,
           ((receive_start_lsn - '0/0') % (2^52)::bigint)::float8 AS receive_start_lsn,
           ((flushed_lsn - '0/0') % (2^52)::bigint)::float8 AS flushed_lsn,
           receive_start_tli::float8 AS receive_start_tli,
           received_tli::float8 AS received_tli,
           EXTRACT(EPOCH FROM last_msg_send_time)::float8 AS last_msg_send_time,
           EXTRACT(EPOCH FROM last_msg_receipt_time)::float8 AS last_msg_receipt_time,
           ((latest_end_lsn - '0/0') % (2^52)::bigint)::float8 AS latest_end_lsn,
           EXTRACT(EPOCH FROM latest_end_time)::float8 AS latest_end_time,
           NULLIF(substring(slot_name FROM 'repmgr_slot_([0-9]*)'), '')::float8 AS upstream_node
    FROM pg_stat_wal_receiver
) receiver
WHERE upstream_host IS NOT NULL AND slot_name IS NOT NULL AND status IS NOT NULL
  AND receive_start_lsn IS NOT NULL AND flushed_lsn IS NOT NULL
  AND receive_start_tli IS NOT NULL AND received_tli IS NOT NULL
  AND last_msg_send_time IS NOT NULL AND last_msg_receipt_time IS NOT NULL
  AND latest_end_lsn IS NOT NULL AND latest_end_time IS NOT NULL
