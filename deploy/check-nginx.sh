#!/bin/sh
# Checks that nginx accepts deploy/nginx.conf (`nginx -t`), with a throw-away self-signed
# certificate in place of the real one and logs and pid in a temporary directory.
# Needs nginx (Debian: apt-get install nginx-light) and openssl; exits 0 when accepted.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
nginx=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$nginx" ] || { echo "nginx is not installed (apt-get install nginx-light)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=crm.example.com \
    -keyout "$tmp/privkey.pem" -out "$tmp/fullchain.pem" 2>/dev/null
sed -e "s#/etc/letsencrypt/live/crm.example.com#$tmp#" \
    -e "s#/var/log/nginx#$tmp#" \
    -e "s#^pid .*#pid $tmp/nginx.pid;#" \
    "$here/nginx.conf" > "$tmp/nginx.conf"
# Not root: no user switch.
[ "$(id -u)" = 0 ] || sed -i -e 's#^user .*##' "$tmp/nginx.conf"
"$nginx" -t -q -c "$tmp/nginx.conf" -e "$tmp/error.log"
echo "deploy/nginx.conf: accepted by $("$nginx" -v 2>&1)"
