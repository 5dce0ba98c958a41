#!/bin/bash
# A WebDAV server for the tests: Apache with mod_dav and mod_dav_fs, basic
# authentication, on the loopback address only.
#
#   Tools/dav-server.sh start DIR PORT USER PASSWORD   serves DIR/www as http://127.0.0.1:PORT/dav/
#   Tools/dav-server.sh stop DIR
#
# Exits 3 with the reason on stderr when Apache is not installed.
set -euo pipefail
command=${1:?start or stop}
dir=${2:?a directory for the server}
case "$command" in
  stop)
    if [ -f "$dir/httpd.pid" ]; then kill "$(cat "$dir/httpd.pid")" 2>/dev/null || true; fi
    exit 0 ;;
  start) ;;
  *) echo "usage: $0 start DIR PORT USER PASSWORD | stop DIR" >&2; exit 64 ;;
esac
port=${3:?a port}; user=${4:?a user}; password=${5:?a password}
apache=$(command -v apache2 || command -v httpd || true)
[ -z "$apache" ] && [ -x /usr/sbin/apache2 ] && apache=/usr/sbin/apache2
modules=/usr/lib/apache2/modules
if [ -z "$apache" ] || [ ! -f "$modules/mod_dav_fs.so" ]; then
  echo "Apache with mod_dav_fs is not installed (apt-get install apache2)" >&2
  exit 3
fi
htpasswd=$(command -v htpasswd || true)
[ -z "$htpasswd" ] && { echo "htpasswd is not installed (apt-get install apache2-utils)" >&2; exit 3; }
mkdir -p "$dir/www/dav" "$dir/lock"
"$htpasswd" -bc "$dir/htpasswd" "$user" "$password" >/dev/null 2>&1
runas=""
if [ "$(id -u)" = 0 ]; then
  runas="User www-data
Group www-data"
  chown -R www-data:www-data "$dir/www" "$dir/lock"
fi
load() { [ -f "$modules/mod_$1.so" ] && echo "LoadModule ${1}_module $modules/mod_$1.so"; return 0; }
cat > "$dir/httpd.conf" <<CONF
ServerRoot "$dir"
ServerName 127.0.0.1
Listen 127.0.0.1:$port
PidFile "$dir/httpd.pid"
ErrorLog "$dir/error.log"
LogLevel warn
$(load mpm_event)
$(apache2 -l 2>/dev/null | grep -q mod_unixd || load unixd)
$(load authn_core)
$(load authn_file)
$(load authz_core)
$(load authz_user)
$(load auth_basic)
$(load log_config)
CustomLog "$dir/access.log" "%m %U %>s %b"
$(load dav)
$(load dav_fs)
$runas
DavLockDB "$dir/lock/DavLock"
DocumentRoot "$dir/www"
<Directory "$dir/www/dav">
  Dav On
  AuthType Basic
  AuthName "samhand"
  AuthUserFile "$dir/htpasswd"
  Require valid-user
  LimitRequestBody 0
</Directory>
CONF
# The server outlives this script: it must not keep the caller's pipes
# open (a caller waiting for them to close would wait for ever).
for fd in /proc/$$/fd/*; do
  fd=${fd##*/}
  [ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-" 2>/dev/null || true
done
"$apache" -f "$dir/httpd.conf" -k start </dev/null >>"$dir/start.log" 2>&1 || { cat "$dir/start.log" >&2; exit 1; }
for _ in $(seq 50); do
  [ -f "$dir/httpd.pid" ] && exit 0
  sleep 0.1
done
echo "Apache did not start: $(tail -5 "$dir/error.log" 2>/dev/null)" >&2
exit 1
