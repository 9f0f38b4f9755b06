#!/bin/sh
# What PostgreSQL alone does of Kefu's ticket create, with no Kefu in
# front: pgbench, a lean C client, sends the statements a create over the
# API sends (the same tables, indexes and rows, in the same four round
# trips), and reports transactions a second. Kefu cannot create tickets
# faster than this on the same machine, since it needs CPU of its own.
#
#   KEFU_TEST_POSTGRES_URL='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' \
#     sh docs/bench/pg-create-floor.sh [clients] [seconds]
#
# It works in a schema of its own (kefu_floor_<pid>), dropped at the end.
# Needs psql and pgbench (Debian: postgresql-client), and Go or KEFU set
# to a built kefu binary.
set -eu
url=${KEFU_TEST_POSTGRES_URL:?set KEFU_TEST_POSTGRES_URL to a PostgreSQL URL}
clients=${1:-16}
seconds=${2:-15}
schema=kefu_floor_$$
kefu=${KEFU:-go run ./cmd/kefu}
export PGOPTIONS="-c client_min_messages=warning"

psql "$url" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" -c "CREATE SCHEMA $schema"
trap 'psql "$url" -qc "DROP SCHEMA IF EXISTS '$schema' CASCADE"' EXIT
case $url in *\?*) sep='&' ;; *) sep='?' ;; esac
$kefu migrate --db "$url${sep}search_path=$schema" >/dev/null

export PGOPTIONS="$PGOPTIONS -c search_path=$schema"
# Ids are time-ordered, as Kefu's are (kefu.NewID): each index takes new
# entries at its end.
psql "$url" -q <<'SQL'
CREATE SEQUENCE floor_ids;
CREATE FUNCTION floor_id() RETURNS uuid LANGUAGE sql AS
    $$ SELECT ('01a2069f-0000-7000-8000-' || lpad(to_hex(nextval('floor_ids')), 12, '0'))::uuid $$;
INSERT INTO staff (id, email, name, role, created_at, updated_at)
    VALUES (floor_id(), 'bot@shop.cn', 'Shop integration', 'agent', now(), now());
INSERT INTO customers (id, name, created_at, updated_at)
    SELECT floor_id(), 'c' || g, now(), now() FROM generate_series(0, 99) g;
INSERT INTO customer_identities (id, customer_id, kind, value, value_norm, created_at)
    SELECT floor_id(), id, 'email', name || '@example.cn', name || '@example.cn', now() FROM customers;
SQL

# The create of BenchmarkCreateTicketHTTP (cmd/kefu/bench_test.go): look
# up the customer, take a number (the ids travel with it here, where Kefu
# makes them itself), then the rows and the COMMIT in one round trip, as
# internal/database/pipeline.go sends them.
script=$(mktemp)
trap 'rm -f "$script"; psql "$url" -qc "DROP SCHEMA IF EXISTS '$schema' CASCADE"' EXIT
cat >"$script" <<'SQL'
\set c random(0, 99)
BEGIN;
SELECT CAST(customer_id AS text) AS cid FROM customer_identities WHERE kind = 'email' AND value_norm = 'c' || :c || '@example.cn' \gset
SELECT nextval('ticket_number') AS num, floor_id() AS tid, floor_id() AS mid, floor_id() AS aid \gset
\startpipeline
INSERT INTO tickets (id, number, subject, customer_id, channel, category, priority, status, assignee_id, department_id, order_number, custom_fields, follow_up_of, created_at, updated_at, solved_at, first_reply_at, last_customer_message_at) VALUES (:tid, :num, '连衣裙尺码偏小，申请换货', :cid, 'api', 'return_exchange', 'normal', 'new', NULL, NULL, 'SO' || :num, '{}', NULL, now(), now(), NULL, NULL, now());
INSERT INTO ticket_tags (ticket_id, tag) VALUES (:tid, 'vip');
INSERT INTO audit_log (id, at, actor_kind, actor_id, actor_name, action, entity, entity_id, ticket_id, customer_id, changes) VALUES (:aid, now(), 'staff', '01a2069f-0000-7000-8000-000000000001', 'Shop integration', 'create', 'ticket', :tid, :tid, :cid, '{"category":{"to":"return_exchange"},"priority":{"to":"normal"},"status":{"to":"new"},"subject":{"to":"连衣裙尺码偏小，申请换货"}}');
INSERT INTO messages (id, ticket_id, kind, channel, author_staff_id, author_customer_id, body_text, body_html, proposes_solution, external_id, created_at, automated) VALUES (:mid, :tid, 'customer', 'api', NULL, :cid, '收到的连衣裙偏小，想换大一号，吊牌还在，没有穿过。', '', false, NULL, now(), false);
INSERT INTO search_docs (kind, entity_id, tokens) VALUES ('tickets', :tid, 'kf ' || :num || ' 连衣 衣裙 裙尺 尺码 码偏 偏小 小 申请 请换 换货 货 so' || :num || ' vip'), ('messages', :mid, '收到 到的 的连 连衣 衣裙 裙偏 偏小 小 想换 换大 大一 一号 号 吊牌 牌还 还在 在 没有 有穿 穿过 过') ON CONFLICT (kind, entity_id) DO UPDATE SET tokens = excluded.tokens WHERE search_docs.tokens <> excluded.tokens;
COMMIT;
\endpipeline
SQL
pgbench "$url" -n -M prepared -c "$clients" -j 2 -T "$seconds" -f "$script"
