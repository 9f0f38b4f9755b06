#!/usr/bin/env bash
# Starts throwaway mail servers on loopback for the email end-to-end tests
# and prints the environment the tests read (eval "$(.ci/mailservers.sh)"):
#   Dovecot IMAP  127.0.0.1:10143  (plain, no TLS: loopback only)
#   Dovecot LMTP  127.0.0.1:10024  (Postfix delivers into the mailboxes)
#   Postfix SMTP  127.0.0.1:10025  (Kefu's outbound replies; domain test.local)
#   Dovecot IMAPS 127.0.0.1:10993  (implicit TLS; STARTTLS is offered on 10143,
#                                   and by Postfix, with a throwaway CA in $DIR/ca.pem)
# Users (password = user name before @ + "-pass"): kefu@test.local is the
# shop's mailbox Kefu imports from; customer@test.local receives Kefu's
# replies, which the tests read back over IMAP.
# Needs root and the Debian packages dovecot-imapd, dovecot-lmtpd, postfix, openssl.
set -euo pipefail
DIR=${KEFU_MAIL_DIR:-/tmp/kefu-mailservers}
IMAP_PORT=10143 IMAPS_PORT=10993 LMTP_PORT=10024 SMTP_PORT=10025

# Stop what a previous run started, then start clean.
if [ -f "$DIR/dovecot.conf" ]; then doveadm -c "$DIR/dovecot.conf" stop </dev/null >/dev/null 2>&1 || true; fi
if [ -d "$DIR/postfix" ]; then postfix -c "$DIR/postfix" stop </dev/null >/dev/null 2>&1 || true; fi
for port in $IMAP_PORT $IMAPS_PORT $LMTP_PORT $SMTP_PORT; do
	for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null || break; sleep 0.1; done
done
rm -rf "$DIR"
mkdir -p "$DIR/run" "$DIR/state" "$DIR/mail" "$DIR/postfix"
chown mail:mail "$DIR/mail"
chmod 755 "$DIR"

# A throwaway CA and a certificate for 127.0.0.1, so the TLS and STARTTLS
# paths are tested with verification on (the tests trust ca.pem only).
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Kefu test CA" \
	-keyout "$DIR/ca.key" -out "$DIR/ca.pem" >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$DIR/key.pem" -out "$DIR/req.pem" >/dev/null 2>&1
printf 'subjectAltName=IP:127.0.0.1\n' > "$DIR/san.ext"
openssl x509 -req -in "$DIR/req.pem" -CA "$DIR/ca.pem" -CAkey "$DIR/ca.key" -CAcreateserial -days 2 \
	-extfile "$DIR/san.ext" -out "$DIR/cert.pem" >/dev/null 2>&1
chmod 644 "$DIR/cert.pem" "$DIR/ca.pem"
chmod 640 "$DIR/key.pem"
chgrp postfix "$DIR/key.pem" 2>/dev/null || true

cat > "$DIR/users" <<USERS
kefu@test.local:{PLAIN}kefu-pass
customer@test.local:{PLAIN}customer-pass
USERS
cat > "$DIR/dovecot.conf" <<CONF
base_dir = $DIR/run
state_dir = $DIR/state
log_path = $DIR/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1
ssl = yes
ssl_cert = <$DIR/cert.pem
ssl_key = <$DIR/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:$DIR/mail/%u
mail_uid = mail
mail_gid = mail
first_valid_uid = 1
default_internal_user = dovecot
default_login_user = dovenull
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $DIR/users
}
userdb {
  driver = static
  args = uid=mail gid=mail home=$DIR/mail/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $IMAPS_PORT
    ssl = yes
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $LMTP_PORT
  }
}
protocol lmtp {
  postmaster_address = postmaster@test.local
}
CONF
# Daemons must not inherit stdout: eval "$(…)" would wait for them.
dovecot -c "$DIR/dovecot.conf" </dev/null >>"$DIR/start.log" 2>&1

# Postfix from its own configuration directory, which the default
# main.cf must name before postfix -c accepts it.
postconf -e "alternate_config_directories = $DIR/postfix" 2>/dev/null || {
	touch /etc/postfix/main.cf
	postconf -e "alternate_config_directories = $DIR/postfix"
}
cat > "$DIR/postfix/main.cf" <<CONF
compatibility_level = 3.6
queue_directory = $DIR/postfix-spool
data_directory = $DIR/postfix-data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mx.test.local
mydestination =
virtual_mailbox_domains = test.local
virtual_transport = lmtp:inet:127.0.0.1:$LMTP_PORT
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
alias_maps =
alias_database =
smtputf8_enable = no
smtpd_tls_cert_file = $DIR/cert.pem
smtpd_tls_key_file = $DIR/key.pem
smtpd_tls_security_level = may
maillog_file = $DIR/postfix.log
maillog_file_prefixes = $DIR
CONF
cat > "$DIR/postfix/master.cf" <<CONF
127.0.0.1:$SMTP_PORT inet n - n - - smtpd
pickup     unix  n - n 60   1 pickup
cleanup    unix  n - n -    0 cleanup
qmgr       unix  n - n 300  1 qmgr
tlsmgr     unix  - - n 1000? 1 tlsmgr
rewrite    unix  - - n -    - trivial-rewrite
bounce     unix  - - n -    0 bounce
defer      unix  - - n -    0 bounce
trace      unix  - - n -    0 bounce
verify     unix  - - n -    1 verify
flush      unix  n - n 1000? 0 flush
proxymap   unix  - - n -    - proxymap
smtp       unix  - - n -    - smtp
relay      unix  - - n -    - smtp
showq      unix  n - n -    - showq
error      unix  - - n -    - error
retry      unix  - - n -    - error
discard    unix  - - n -    - discard
lmtp       unix  - - n -    - lmtp
anvil      unix  - - n -    1 anvil
scache     unix  - - n -    1 scache
postlog    unix-dgram n - n - 1 postlogd
CONF
mkdir -p "$DIR/postfix-spool" "$DIR/postfix-data"
chown postfix "$DIR/postfix-data"
postfix -c "$DIR/postfix" post-install create-missing </dev/null >>"$DIR/start.log" 2>&1
postfix -c "$DIR/postfix" start </dev/null >>"$DIR/start.log" 2>&1 || { cat "$DIR/start.log" >&2; exit 1; }

# Wait until both answer.
for _ in $(seq 1 50); do
	if (exec 3<>/dev/tcp/127.0.0.1/$IMAP_PORT) 2>/dev/null && (exec 3<>/dev/tcp/127.0.0.1/$SMTP_PORT) 2>/dev/null; then
		break
	fi
	sleep 0.1
done
(exec 3<>/dev/tcp/127.0.0.1/$IMAP_PORT) && (exec 3<>/dev/tcp/127.0.0.1/$IMAPS_PORT) && (exec 3<>/dev/tcp/127.0.0.1/$SMTP_PORT)

echo "export KEFU_TEST_IMAP_ADDR=127.0.0.1:$IMAP_PORT"
echo "export KEFU_TEST_IMAPS_ADDR=127.0.0.1:$IMAPS_PORT"
echo "export KEFU_TEST_MAIL_CA=$DIR/ca.pem"
echo "export KEFU_TEST_SMTP_ADDR=127.0.0.1:$SMTP_PORT"
echo "export KEFU_TEST_MAIL_LOGS=$DIR"
