#!/usr/bin/env bash
# End-to-end test with a real sync tool: two or three Syncthing instances on
# loopback (global and local discovery, relays, NAT traversal, usage and crash
# reporting and upgrades all off), each syncing its own copy of one shared
# folder, while the offices edit and run 'samhand sync' at the same time as
# Syncthing moves the files. Passes when every office converges to the same
# frontier and snapshot, and the folder copies agree with the stores.
#
# Usage: Tools/syncthing-e2e.sh [ROUNDS [OFFICES]]
#   ROUNDS   rounds of concurrent edits (default 5)
#   OFFICES  2 (ks, vestland) or 3 (ks, vestland, kdd; the default)
# Environment:
#   SAMHAND=PATH      a samhand binary to use instead of building one
#   SETTLE_SECONDS=N  how long to wait for convergence (default 60)
#   KEEP=1            keep the temporary folder (printed) for inspection
#
# Exits 0 with "SKIP: reason" when Syncthing cannot be installed or run here,
# 0 with "CONVERGED: hash" on success, 1 on any real failure.
set -euo pipefail

ROUNDS=${1:-5}
NOFFICES=${2:-3}
SETTLE_SECONDS=${SETTLE_SECONDS:-60}
FOLDER_ID=samhand-e2e

case "$ROUNDS" in '' | *[!0-9]*) echo "usage: $0 [ROUNDS [OFFICES]]" >&2; exit 64 ;; esac
case "$NOFFICES" in 2 | 3) ;; *) echo "usage: $0 [ROUNDS [OFFICES]]  (OFFICES is 2 or 3)" >&2; exit 64 ;; esac
[ "$ROUNDS" -ge 1 ] || { echo "ROUNDS must be at least 1" >&2; exit 64; }

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OFFICES=(ks vestland kdd)
OFFICES=("${OFFICES[@]:0:$NOFFICES}")
START=$SECONDS

say() { printf '[%3ds] %s\n' "$((SECONDS - START))" "$*"; }
skip() { echo "SKIP: $*"; exit 0; }

# --- Tools: syncthing (and curl, jq) from Debian packages ---------------------

missing_packages() {
  local need=()
  command -v syncthing >/dev/null 2>&1 || need+=(syncthing)
  command -v curl >/dev/null 2>&1 || need+=(curl)
  command -v jq >/dev/null 2>&1 || need+=(jq)
  echo "${need[*]}"
}

need=$(missing_packages)
if [ -n "$need" ]; then
  command -v apt-get >/dev/null 2>&1 || skip "no apt-get to install: $need"
  if [ "$(id -u)" = 0 ]; then sudo=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo=(sudo -n)
  else skip "not root and no password-less sudo to install: $need"; fi
  say "installing $need"
  # shellcheck disable=SC2086
  if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null 2>&1; then
    # shellcheck disable=SC2086
    "${sudo[@]}" apt-get update -qq >/dev/null 2>&1 || true
    # shellcheck disable=SC2086
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null 2>&1 \
      || skip "apt-get could not install $need (no network or no such package?)"
  fi
  need=$(missing_packages)
  [ -z "$need" ] || skip "still missing after apt-get install: $need"
fi
syncthing_version=$(syncthing --version 2>/dev/null | head -n 1) || skip "the syncthing binary does not run"
[ -n "$syncthing_version" ] || skip "the syncthing binary does not run"

# --- samhand ------------------------------------------------------------------

if [ -n "${SAMHAND:-}" ]; then
  [ -x "$SAMHAND" ] || { echo "FAIL: SAMHAND=$SAMHAND is not an executable" >&2; exit 1; }
else
  say "building samhand"
  (cd "$ROOT" && swift build --product samhand 2>&1 | tail -n 3) \
    || { echo "FAIL: swift build --product samhand failed" >&2; exit 1; }
  SAMHAND=$ROOT/.build/debug/samhand
  [ -x "$SAMHAND" ] || { echo "FAIL: no $SAMHAND after building" >&2; exit 1; }
fi

# --- Temporary folder and cleanup ---------------------------------------------

WORK=$(mktemp -d "${TMPDIR:-/tmp}/samhand-syncthing.XXXXXX")
declare -A PID GUI LISTEN DEVID APIKEY
STARTED=()

stop_instances() {
  local name pid i
  for name in "${STARTED[@]}"; do
    curl -s -m 2 -X POST -H "X-API-Key: ${APIKEY[$name]}" \
      "http://127.0.0.1:${GUI[$name]}/rest/system/shutdown" >/dev/null 2>&1 || true
  done
  for name in "${STARTED[@]}"; do
    pid=${PID[$name]}
    for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      sleep 0.5
      kill -9 "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  STARTED=()
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_instances
  if [ "${KEEP:-}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- Ports --------------------------------------------------------------------

port_in_use() {
  if command -v ss >/dev/null 2>&1; then
    ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}

pick_ports() {   # sets BASE to the first of 2*N free consecutive ports
  local tries base p ok
  for tries in $(seq 50); do
    base=$((20000 + (RANDOM * 32768 + RANDOM) % 20000))
    ok=1
    for p in $(seq "$base" $((base + 2 * NOFFICES - 1))); do
      if port_in_use "$p"; then ok=0; break; fi
    done
    if [ "$ok" = 1 ]; then BASE=$base; return 0; fi
  done
  return 1
}
pick_ports || skip "no free loopback ports found in 20000-40000"

# --- Syncthing instances ------------------------------------------------------

api() {   # api NAME METHOD PATH: prints the body, fails on an HTTP error
  curl -sf -m 10 -X "$2" -H "X-API-Key: ${APIKEY[$1]}" "http://127.0.0.1:${GUI[$1]}$3"
}

i=0
for name in "${OFFICES[@]}"; do
  GUI[$name]=$((BASE + i))
  LISTEN[$name]=$((BASE + NOFFICES + i))
  APIKEY[$name]=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
  mkdir -p "$WORK/copy-$name/.stfolder"
  syncthing generate --home "$WORK/st-$name" --no-default-folder --skip-port-probing \
    >"$WORK/st-$name.generate.log" 2>&1 || skip "syncthing generate failed: $(tail -n 3 "$WORK/st-$name.generate.log")"
  DEVID[$name]=$(grep -o '<device id="[A-Z0-9-]*"' "$WORK/st-$name/config.xml" | head -n 1 | cut -d'"' -f2)
  [ -n "${DEVID[$name]}" ] || skip "no device ID in the generated config of $name"
  i=$((i + 1))
done

write_config() {   # write_config NAME: the whole config.xml, local sync only
  local name=$1 peer
  {
    echo '<configuration version="36">'
    echo "    <folder id=\"$FOLDER_ID\" label=\"$FOLDER_ID\" path=\"$WORK/copy-$name\" type=\"sendreceive\" rescanIntervalS=\"30\" fsWatcherEnabled=\"true\" fsWatcherDelayS=\"1\" ignorePerms=\"false\" autoNormalize=\"true\">"
    echo '        <filesystemType>basic</filesystemType>'
    for peer in "${OFFICES[@]}"; do
      echo "        <device id=\"${DEVID[$peer]}\" introducedBy=\"\"><encryptionPassword></encryptionPassword></device>"
    done
    echo '        <minDiskFree unit="%">0</minDiskFree>'
    echo '        <versioning></versioning>'
    echo '        <order>random</order>'
    echo '        <maxConflicts>-1</maxConflicts>'
    echo '        <markerName>.stfolder</markerName>'
    echo '    </folder>'
    for peer in "${OFFICES[@]}"; do
      if [ "$peer" = "$name" ]; then
        echo "    <device id=\"${DEVID[$peer]}\" name=\"$peer\" compression=\"metadata\" introducer=\"false\"><address>dynamic</address></device>"
      else
        echo "    <device id=\"${DEVID[$peer]}\" name=\"$peer\" compression=\"metadata\" introducer=\"false\"><address>tcp://127.0.0.1:${LISTEN[$peer]}</address><autoAcceptFolders>false</autoAcceptFolders></device>"
      fi
    done
    echo '    <gui enabled="true" tls="false" debugging="false">'
    echo "        <address>127.0.0.1:${GUI[$name]}</address>"
    echo "        <apikey>${APIKEY[$name]}</apikey>"
    echo '        <theme>default</theme>'
    echo '    </gui>'
    echo '    <options>'
    echo "        <listenAddress>tcp://127.0.0.1:${LISTEN[$name]}</listenAddress>"
    echo '        <globalAnnounceServer></globalAnnounceServer>'
    echo '        <globalAnnounceEnabled>false</globalAnnounceEnabled>'
    echo '        <localAnnounceEnabled>false</localAnnounceEnabled>'
    echo '        <relaysEnabled>false</relaysEnabled>'
    echo '        <natEnabled>false</natEnabled>'
    echo '        <stunServer></stunServer>'
    echo '        <stunKeepaliveStartS>0</stunKeepaliveStartS>'
    echo '        <reconnectionIntervalS>2</reconnectionIntervalS>'
    echo '        <startBrowser>false</startBrowser>'
    echo '        <urAccepted>-1</urAccepted>'
    echo '        <urSeen>3</urSeen>'
    echo '        <crashReportingEnabled>false</crashReportingEnabled>'
    echo '        <autoUpgradeIntervalH>0</autoUpgradeIntervalH>'
    echo '        <releasesURL></releasesURL>'
    echo '        <announceLANAddresses>false</announceLANAddresses>'
    echo '        <restartOnWakeup>false</restartOnWakeup>'
    echo '        <setLowPriority>false</setLowPriority>'
    echo '        <minHomeDiskFree unit="%">0</minHomeDiskFree>'
    echo '    </options>'
    echo '</configuration>'
  } >"$WORK/st-$name/config.xml"
}

start_instance() {
  local name=$1 i
  write_config "$name"
  STMONITORED=1 STHASHING=minio STNOUPGRADE=1 STNODEFAULTFOLDER=1 \
    syncthing serve --home "$WORK/st-$name" --no-browser --no-upgrade \
    >"$WORK/st-$name.log" 2>&1 </dev/null &
  PID[$name]=$!
  STARTED+=("$name")
  for i in $(seq 200); do
    if api "$name" GET /rest/system/ping 2>/dev/null | grep -q pong; then return 0; fi
    kill -0 "${PID[$name]}" 2>/dev/null || break
    sleep 0.1
  done
  skip "syncthing instance $name did not start: $(tail -n 5 "$WORK/st-$name.log" | tr '\n' ' ')"
}

say "syncthing: $syncthing_version"
for name in "${OFFICES[@]}"; do
  start_instance "$name"
  say "started $name: pid ${PID[$name]}, API 127.0.0.1:${GUI[$name]}, listen 127.0.0.1:${LISTEN[$name]}"
done

connected_count() {
  api "$1" GET /rest/system/connections 2>/dev/null \
    | jq '[.connections | to_entries[] | select(.value.connected)] | length' 2>/dev/null || echo 0
}

deadline=$((SECONDS + 40))
while :; do
  all=1
  for name in "${OFFICES[@]}"; do
    [ "$(connected_count "$name")" -ge $((NOFFICES - 1)) ] || { all=0; break; }
  done
  [ "$all" = 1 ] && break
  if [ "$SECONDS" -ge "$deadline" ]; then
    for name in "${OFFICES[@]}"; do echo "  $name: $(connected_count "$name") connected; log: $(tail -n 3 "$WORK/st-$name.log" | tr '\n' ' ')"; done
    skip "the syncthing instances did not connect to each other on loopback within 40 s"
  fi
  sleep 0.2
done
say "all $NOFFICES instances connected"

scan_all() {   # a forced scan on every instance, all at once (each call waits for its scan)
  local name pids=()
  for name in "${OFFICES[@]}"; do
    api "$name" POST "/rest/db/scan?folder=$FOLDER_ID" >/dev/null 2>&1 & pids+=($!)
  done
  wait "${pids[@]}" || true   # never a bare 'wait': the instances are children too
}

# The files of a folder copy with their checksums, leaving out what is
# Syncthing's own (the marker, versions, temporary files).
listing() {
  (cd "$WORK/copy-$1" && find . -type f \
      ! -path './.stfolder/*' ! -path './.stversions/*' ! -name '.syncthing.*.tmp' ! -name '~syncthing~*.tmp' \
      -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum 2>/dev/null) || true
  # (a file renamed away meanwhile drops out; the listings then differ for a moment)
}

folder_need() {   # how many items an instance still needs, or 999 when unknown
  api "$1" GET "/rest/db/status?folder=$FOLDER_ID" 2>/dev/null \
    | jq -r 'if .state == "idle" then .needTotalItems else 999 end' 2>/dev/null || echo 999
}

# Waits (at most $1 seconds) until every instance is idle, needs nothing, and
# every folder copy holds the same files. Returns 1 when it timed out.
wait_copies_equal() {
  local until=$((SECONDS + $1)) name ref ok
  while :; do
    ok=1
    for name in "${OFFICES[@]}"; do
      [ "$(folder_need "$name")" = 0 ] || { ok=0; break; }
    done
    if [ "$ok" = 1 ]; then
      ref=$(listing "${OFFICES[0]}")
      for name in "${OFFICES[@]:1}"; do
        [ "$(listing "$name")" = "$ref" ] || { ok=0; break; }
      done
    fi
    [ "$ok" = 1 ] && return 0
    [ "$SECONDS" -lt "$until" ] || return 1
    sleep 0.3
  done
}

# --- The offices --------------------------------------------------------------

# sam OFFICE ARGS...: runs samhand on the office's store and prints its
# stdout; both streams go to the office's log. A failure prints them and fails
# the caller.
sam() {
  local office=$1 out err rc=0
  shift
  err="$WORK/stderr-$office.$BASHPID"
  out=$(SAMHAND_STORE="$WORK/store-$office" "$SAMHAND" "$@" 2>"$err") || rc=$?
  printf '$ samhand %s\n%s\n' "$*" "$out" >>"$WORK/log-$office.txt"
  if [ -s "$err" ]; then sed 's/^/stderr: /' "$err" >>"$WORK/log-$office.txt"; fi
  if [ "$rc" != 0 ]; then
    echo "FAIL: [$office] samhand $* exited with $rc:" >&2
    { printf '%s\n' "$out"; cat "$err"; } | sed 's/^/    /' >&2
    rm -f "$err"
    return "$rc"
  fi
  rm -f "$err"
  printf '%s\n' "$out"
}

has_record() {   # has_record OFFICE COLLECTION ID
  SAMHAND_STORE="$WORK/store-$1" "$SAMHAND" get "$2" "$3" >/dev/null 2>&1
}

latest_case() {   # latest_case OFFICE ROUND: the newest case from an earlier round the office has
  local k
  for ((k = $2 - 1; k >= 1; k--)); do
    if has_record "$1" cases "sak-$k"; then echo "sak-$k"; return 0; fi
  done
}

# sync_office OFFICE: 'samhand sync --json', keeping its counts for the summary.
sync_office() {
  local out
  out=$(sam "$1" sync --json) || return 1
  printf '%s\n' "$out" | jq -c '{imported: (.imported | length), published: (.published | length),
      waiting: (.waiting | length), set_aside: .set_aside, rejected: (.rejected | length),
      ignored, harmless_copies, collisions: (.collisions | length), publishing_blocked}' >>"$WORK/syncs-$1.jsonl"
}

pause() { sleep "0.$((RANDOM % 4))$((RANDOM % 10))"; }

say "office ks creates the store in its copy"
init_json=$(sam ks init --replica ks --folder "$WORK/copy-ks" --json)
ROSTER=$(printf '%s\n' "$init_json" | jq -r .roster_hash)
say "roster hash $ROSTER"

deadline=$((SECONDS + 30))
for name in "${OFFICES[@]:1}"; do
  until [ -f "$WORK/copy-$name/samhand.json" ]; do
    [ "$SECONDS" -lt "$deadline" ] || { echo "FAIL: samhand.json did not reach copy-$name within 30 s" >&2; exit 1; }
    sleep 0.1
  done
done
say "samhand.json reached every copy"

join_office() {
  sam "$1" init --replica "$1" --folder "$WORK/copy-$1" --trust "$ROSTER" --json >/dev/null
}
pids=()
for name in "${OFFICES[@]:1}"; do join_office "$name" & pids+=($!); done
fail=0
for p in "${pids[@]}"; do wait "$p" || fail=1; done
[ "$fail" = 0 ] || exit 1
say "${OFFICES[*]:1} joined with --trust"
# KS, which founded the folder, confirms each office's key (in real life
# after comparing the fingerprint by phone); the confirmations reach the
# others with KS's first sync.
for name in "${OFFICES[@]:1}"; do
  key=$(sam "$name" key show --json | jq -r .public_key)
  sam ks roster confirm "$name" --key "$key" >/dev/null
done
say "ks confirmed their keys"

everyone="participants+=ks participants+=vestland"
[ "$NOFFICES" = 3 ] && everyone="$everyone participants+=kdd"

# One office's share of round $2. Every write is within the office's rights:
# ks and kdd write anything; vestland writes its own membership records and the
# cases and projects that name it (it edits them only once it has them).
office_round() {
  local office=$1 r=$2 case_id id field pick
  case "$office" in
    ks)
      # shellcheck disable=SC2086
      sam ks set cases "sak-$r" "title=Felles sak $r" owner=ks status=ny kommune=Bergen $everyone >/dev/null
      # shellcheck disable=SC2086
      sam ks set projects prosjekt-1 "name=Veilederkorpset" lead=ks $everyone "funding.ks:=$((100000 * r))" >/dev/null
      sam ks set membership "ks-$r" "person=Person $r i KS" organisation=ks network=veilederkorpset \
        role=planveileder groups+=reguleringsplan >/dev/null
      pause
      sync_office ks
      if [ "$r" -gt 1 ]; then
        sam ks set cases "sak-$((r - 1))" status=under-arbeid "notes=ks i runde $r" >/dev/null
      fi
      # ks resolves the conflicts it sees on the cases, picking the value shown.
      sam ks conflicts --json | jq -r '.[] | select(.collection == "cases" and .kind == "value" and .key == null)
          | "\(.id) \(.field) \(.siblings[0].author)"' >"$WORK/ks-conflicts.txt"
      while read -r id field pick; do
        sam ks resolve cases "$id" "$field" --pick "$pick" >/dev/null
      done <"$WORK/ks-conflicts.txt"
      pause
      sync_office ks
      ;;
    vestland)
      case_id=$(latest_case vestland "$r")
      if [ -n "$case_id" ]; then
        sam vestland set cases "$case_id" status=under-arbeid "notes=vestland i runde $r" deadline=2026-12-0$((r % 9 + 1)) >/dev/null
      fi
      sam vestland set membership "vestland-$r" "person=Person $r i Vestland" organisation=vestland \
        network=sevs-styret groups+=kommuneplanens-arealdel >/dev/null
      if has_record vestland projects prosjekt-1; then
        sam vestland set projects prosjekt-1 "funding.vestland:=$((50000 * r))" status=aktiv >/dev/null
      fi
      pause
      sync_office vestland
      sam vestland set membership vestland-1 organisation=vestland "role=styremedlem $r" groups+="gruppe-$r" >/dev/null
      pause
      sync_office vestland
      ;;
    kdd)
      case_id=$(latest_case kdd "$r")
      if [ -n "$case_id" ]; then
        sam kdd set cases "$case_id" status=avsluttet "notes=kdd i runde $r" participants+=kdd >/dev/null
      fi
      sam kdd set membership "kdd-$r" "person=Person $r i KDD" organisation=kdd network=folkevalgtprogrammet \
        groups+=planstrategi >/dev/null
      if has_record kdd membership vestland-1; then
        sam kdd set membership vestland-1 "role=observatør $r" groups+="kdd-$r" >/dev/null
      fi
      sam kdd set projects prosjekt-1 "funding.kdd:=$((70000 * r))" status=planlagt "funding.ks:=$((1000 * r))" >/dev/null
      pause
      sync_office kdd
      pause
      sync_office kdd
      ;;
  esac
}

for r in $(seq "$ROUNDS"); do
  pids=()
  for name in "${OFFICES[@]}"; do office_round "$name" "$r" & pids+=($!); done
  # Syncthing moves files while the offices work; a forced scan now and then
  # as well, as a user's sync client would do on its own schedule.
  (sleep 0.4; scan_all) & scanner=$!
  fail=0
  for p in "${pids[@]}"; do wait "$p" || fail=1; done
  wait "$scanner" || true
  [ "$fail" = 0 ] || { echo "FAIL: an office failed in round $r (logs above)" >&2; exit 1; }
  say "round $r done"
  sleep 0.$((RANDOM % 8 + 2))
done

# --- Settle: sync until every office holds the same state ---------------------

office_state() {   # frontier and snapshot as the office's status reports them
  sam "$1" status --json | jq -cS '{frontier, snapshot, outbox: (.outbox | length), waiting: (.waiting | length)}'
}

say "settling (at most ${SETTLE_SECONDS} s)"
deadline=$((SECONDS + SETTLE_SECONDS))
converged=0
iterations=0
declare -A STATE=()
while [ "$SECONDS" -lt "$deadline" ]; do
  iterations=$((iterations + 1))
  scan_all
  wait_copies_equal 10 || true
  for name in "${OFFICES[@]}"; do sync_office "$name" || exit 1; done
  STATE=()
  same=1
  for name in "${OFFICES[@]}"; do
    STATE[$name]=$(office_state "$name") || exit 1
    [ "${STATE[$name]}" = "${STATE[${OFFICES[0]}]}" ] || same=0
  done
  if [ "$same" = 1 ] && printf '%s' "${STATE[${OFFICES[0]}]}" | jq -e '.outbox == 0 and .waiting == 0' >/dev/null; then
    converged=1
    break
  fi
  sleep 0.3
done

status_report() {
  local name
  for name in "${OFFICES[@]}"; do
    echo "--- $name: ${STATE[$name]:-?}"
    SAMHAND_STORE="$WORK/store-$name" "$SAMHAND" status 2>&1 | sed 's/^/    /' || true
    echo "    syncthing: $(api "$name" GET "/rest/db/status?folder=$FOLDER_ID" 2>/dev/null \
      | jq -c '{state, needTotalItems, globalFiles, localFiles}' 2>/dev/null || echo unreachable)"
  done
}

if [ "$converged" != 1 ]; then
  echo "FAIL: the offices did not converge within ${SETTLE_SECONDS} s ($iterations settle passes)"
  for name in "${OFFICES[@]}"; do echo "  $name: ${STATE[$name]:-?}"; done
  status_report
  for name in "${OFFICES[@]:1}"; do
    echo "--- files that differ between copy-${OFFICES[0]} and copy-$name:"
    diff <(listing "${OFFICES[0]}") <(listing "$name") | sed 's/^/    /' || true
  done
  exit 1
fi
HASH=$(printf '%s' "${STATE[${OFFICES[0]}]}" | jq -r .snapshot)
FRONTIER=$(printf '%s' "${STATE[${OFFICES[0]}]}" | jq -c .frontier)
say "converged after $iterations settle pass(es): frontier $FRONTIER"

# --- Checks after convergence -------------------------------------------------

failures=()
# The canonical JSON snapshot of every store, and of every folder copy read on
# its own, must be byte-identical.
scan_all
wait_copies_equal 15 || failures+=("the folder copies still differ 15 s after convergence")
declare -A SNAP=()
for name in "${OFFICES[@]}"; do
  SNAP[store-$name]=$(sam "$name" snapshot --out - | sha256sum | cut -c1-64)
  SNAP[copy-$name]=$("$SAMHAND" snapshot --folder "$WORK/copy-$name" --out - 2>"$WORK/snap-$name.err" | sha256sum | cut -c1-64)
  [ -s "$WORK/snap-$name.err" ] && failures+=("snapshot --folder copy-$name: $(cat "$WORK/snap-$name.err")")
done
ref=${SNAP[store-${OFFICES[0]}]}
for key in "${!SNAP[@]}"; do
  [ "${SNAP[$key]}" = "$ref" ] || failures+=("snapshot of $key is ${SNAP[$key]}, of store-${OFFICES[0]} $ref")
done

# Anything an office set aside or rejected is worth a look.
for name in "${OFFICES[@]}"; do
  extra=$(sam "$name" status --json | jq -c '{set_aside, rejected, divergent, collisions, head_problems, snapshots_agree}')
  clean='{"collisions":[],"divergent":[],"head_problems":[],"rejected":[],"set_aside":[],"snapshots_agree":true}'
  [ "$(printf '%s' "$extra" | jq -cS .)" = "$clean" ] || failures+=("status of $name: $extra")
done

say "samhand verify --folder copy-${OFFICES[-1]}:"
verify_rc=0
verify_out=$("$SAMHAND" verify --folder "$WORK/copy-${OFFICES[-1]}" 2>&1) || verify_rc=$?
printf '%s\n' "$verify_out" | sed 's/^/    /'
[ "$verify_rc" = 0 ] || failures+=("samhand verify exited with $verify_rc")

# --- Summary ------------------------------------------------------------------

changesets=$(find "$WORK/copy-${OFFICES[0]}/changesets" -type f -name '*.changeset' | wc -l)
st_conflicts=$(find "$WORK"/copy-* -name '*.sync-conflict-*' | wc -l)
field_conflicts=$(sam "${OFFICES[0]}" conflicts --json | jq length)
echo "summary:"
echo "  syncthing:       $syncthing_version"
echo "  instances:       $NOFFICES (${OFFICES[*]}), loopback ports $BASE-$((BASE + 2 * NOFFICES - 1))"
echo "  rounds:          $ROUNDS"
echo "  changesets:      $changesets (frontier $FRONTIER)"
echo "  open conflicts:  $field_conflicts (fields edited concurrently, kept for review)"
echo "  sync-conflict copies from syncthing: $st_conflicts"
find "$WORK"/copy-* -name '*.sync-conflict-*' | sed "s|$WORK/|    |"
echo "  settle passes:   $iterations"
cat "$WORK"/syncs-*.jsonl | jq -s -r '"  samhand syncs:   \(length): imported \(map(.imported) | add), published \(map(.published) | add), "
  + "waited \(map(.waiting) | add), set aside \(map(.set_aside | length) | add), rejected \(map(.rejected) | add), "
  + "ignored \(map(.ignored) | add), harmless copies \(map(.harmless_copies) | add), publishing blocked \(map(select(.publishing_blocked != null)) | length)"'
set_aside_seen=$(cat "$WORK"/syncs-*.jsonl | jq -c 'select(.set_aside | length > 0) | .set_aside' | head -n 5)
[ -z "$set_aside_seen" ] || { echo "  files set aside during the run (a sync's view, before they settled):"; printf '%s\n' "$set_aside_seen" | sed 's/^/    /'; }
echo "  time:            $((SECONDS - START)) s"
if [ "${#failures[@]}" -gt 0 ]; then
  status_report
  for f in "${failures[@]}"; do echo "FAIL: $f"; done
  exit 1
fi
echo "CONVERGED: $HASH"
