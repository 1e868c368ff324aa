#!/usr/bin/env bash
# The local world: a go-ethereum devnet with the contracts, three nodes
# registered and staked on it (the last an exit), and a client that picks a
# 3-hop circuit from the on-chain directory, pays each hop with lottery
# tickets and fetches pages through it; the nodes claim winners on chain.
# Leaves everything running until Ctrl-C (DEMO_ONESHOT=1 stops after the fetches).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin}
DIR=${DEVNET_DIR:-$PWD/.devnet}
# As root the demo is the whole product: every node in its own network
# namespace and the client machine's entire traffic through pexiad's TUN.
# DEMO_LOOPBACK=1 (or no root) runs everything on loopback instead, with
# pexiad as a local SOCKS5/HTTP proxy.
if [ "$(id -u)" = 0 ] && [ -z "${DEMO_LOOPBACK:-}" ]; then
  exec go run ./scripts/demo -bin "$BIN" -dir "$DIR/world" ${DEMO_ONESHOT:+-oneshot}
fi
WEB=${WEB:-127.0.0.1:18080}
mkdir -p "$DIR"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

# wait_for SECONDS CMD...: run CMD every 0.1 s until it succeeds; fail after SECONDS.
wait_for() {
  local limit=$1; shift
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then echo "gave up after ${limit}s waiting for: $*" >&2; return 1; fi
    sleep 0.1
  done
}
# settled PORT: the node serving metrics on PORT has claimed (or seen the
# chain refuse) every winning ticket it stored.
settled() {
  curl -sf --max-time 2 "http://127.0.0.1:$1/metrics" | awk '
    $1 == "pexia_node_winners_stored_total" { s = $2 }
    $1 == "pexia_node_winners_claimed_total" { c = $2 }
    $1 == "pexia_node_winners_refused_total" { r = $2 }
    END { exit !(s != "" && c + r >= s) }'
}
all_settled() { for i in 0 1 2; do settled $((19478 + i)) || return 1; done; }

NET="$DIR/chain/network.json"
rm -f "$DIR/devnet.log"
"$BIN/pexia-devnet" -datadir "$DIR/chain" -rpc-port 0 -web "$WEB" >"$DIR/devnet.log" 2>&1 &
pids+=($!)
wait_for 10 grep -q '^web:' "$DIR/devnet.log" || true
grep -E '^(rpc|network|web):' "$DIR/devnet.log" || { cat "$DIR/devnet.log"; exit 1; }
SITE=$(sed -n 's/^web: *//p' "$DIR/devnet.log")

# devnet:ROLE names a funded test key of the devnet's network file. Off a
# development chain the binaries take keys only from an encrypted keystore
# with a passphrase file (packaging/README.md).
for i in 0 1 2; do
  port=$((18443 + i))
  # The demo's web site is on loopback, which the default exit policy refuses
  # and an exit serves only when its policy names it.
  exit=(); [ $i = 2 ] && exit=(-exit -policy "accept 127.0.0.0/8:*; accept *:*")
  node=("$BIN/pexia-node" -config "" -network "$NET" -datadir "$DIR/node$i" -key "devnet:node$i")
  "${node[@]}" init >/dev/null
  "${node[@]}" register -url "https://127.0.0.1:$port/" -country DE -price 0.$((i + 1)) "${exit[@]}"
  "${node[@]}" run -listen "127.0.0.1:$port" -udp 127.0.0.1:0 -price 0.$((i + 1)) -metrics "127.0.0.1:$((19478 + i))" "${exit[@]}" >"$DIR/node$i.log" 2>&1 &
  pids+=($!)
done
for i in 0 1 2; do
  wait_for 30 bash -c "exec 3<>/dev/tcp/127.0.0.1/$((18443 + i))" || { cat "$DIR/node$i.log"; exit 1; }
done

# client0 pays every hop with lottery tickets inside its onion layer, each
# hop from its own lottery account (funded by client0, recorded in
# hop-accounts.json). A face of 0.001 makes some 50 winners of the demo's
# traffic, so every node is likely to show earnings.
FACE=${FACE:-0.001}
fetch=("$BIN/pexia" fetch -network "$NET" -hops 3 -key devnet:client0 -face "$FACE" -accounts "$DIR/hop-accounts.json")
"${fetch[@]}" "${SITE}"
"${fetch[@]}" "${SITE}bytes/67108864"
# pexiad without root: a local SOCKS5/HTTP proxy whose connections ride a
# paid circuit; names are resolved at the exit. Clients authenticate with
# the credentials pexiad writes beside its socket (and shows in 'pexia
# status'), so no other local user spends the budget.
PROXY=${PROXY:-127.0.0.1:11080}
"$BIN/pexiad" -mode proxy -proxy "$PROXY" -state-dir "$DIR/pexiad" -socket "$DIR/pexiad.sock" \
  -network "$NET" -key devnet:client1 -face "$FACE" -group "" >"$DIR/pexiad.log" 2>&1 &
pids+=($!)
wait_for 20 "$BIN/pexia" -socket "$DIR/pexiad.sock" status || { cat "$DIR/pexiad.log"; exit 1; }
"$BIN/pexia" -socket "$DIR/pexiad.sock" connect -hops 3 -wait
"$BIN/pexia" -socket "$DIR/pexiad.sock" circuit
SOCKS_URL=$(grep '^socks5://' "$DIR/proxy-credentials")
HTTP_URL=$(grep '^http://' "$DIR/proxy-credentials")
if curl -sS --max-time 10 --socks5-hostname "$PROXY" -o /dev/null "${SITE}" 2>/dev/null; then
  echo "the proxy let in a client without credentials" >&2; exit 1
fi
echo "proxy without credentials: refused"
curl -sS --fail --max-time 60 --proxy "socks5h://${SOCKS_URL#socks5://}" "${SITE}" && echo
curl -sS --fail --max-time 120 --proxy "$HTTP_URL" -o /dev/null -w "proxy: %{size_download} bytes at %{speed_download} bytes/s\n" "${SITE}bytes/16777216"
"$BIN/pexia" -socket "$DIR/pexiad.sock" status
"$BIN/pexia" -socket "$DIR/pexiad.sock" wallet

# The desktop app, when there is a display: it follows the same pexiad.
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -x "$BIN/pexia-gui" ]; then
  "$BIN/pexia-gui" -socket "$DIR/pexiad.sock" >"$DIR/pexia-gui.log" 2>&1 &
  pids+=($!)
  echo "pexia-gui is open on the demo's pexiad (log in $DIR/pexia-gui.log)"
fi

echo "waiting for the nodes to claim their winning tickets on chain..."
# Each node claims a winner within its redeem.max_wait (5 s); blocks come
# every second.
wait_for 60 all_settled || echo "not every winner is claimed yet"
for i in 0 1 2; do
  "$BIN/pexia-node" -network "$NET" -datadir "$DIR/node$i" -key "devnet:node$i" earnings
done
if [ -z "${DEMO_ONESHOT:-}" ]; then
  echo "devnet, nodes and web site keep running; Ctrl-C to stop (logs in $DIR)"
  wait
fi
