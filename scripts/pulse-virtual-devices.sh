#!/bin/sh
# Start a PulseAudio user daemon with virtual audio devices for voicecoach's tests and CI.
#
#   vc_speaker          null sink: the coach's "speaker" (default sink)
#   vc_speaker.monitor  record it with:  parec --device=vc_speaker.monitor
#   vc_mic_feed         null sink: play "user speech" into it with:  paplay --device=vc_mic_feed x.wav
#   vc_mic              vc_mic_feed.monitor remapped as a real source: the "microphone" (default source)
#
# Applications using ALSA (PortAudio, hence sounddevice) reach these through the ALSA "pulse" and
# "default" devices (libasound2-plugins; Debian's /etc/alsa/conf.d/99-pulse.conf routes "default" to
# PulseAudio whenever a daemon is running).
#
# Idempotent: running it again leaves a running daemon and loaded modules alone, and only fixes what
# is missing. Works as root (CI) and as a normal user. Exit status 0 when all devices exist.
#
#   scripts/pulse-virtual-devices.sh          start / repair, print "vc_speaker vc_mic_feed vc_mic"
#   scripts/pulse-virtual-devices.sh --stop   stop the daemon
#   scripts/pulse-virtual-devices.sh --check  exit 0 if everything is up, 1 otherwise (changes nothing)
set -eu

SPEAKER=vc_speaker
MIC_FEED=vc_mic_feed
MIC=vc_mic
SILENCE=vc_silence
RATE=48000

die() {
    echo "pulse-virtual-devices: $*" >&2
    exit 1
}

have_sink() { pactl list short sinks 2>/dev/null | awk '{print $2}' | grep -qx "$1"; }
have_source() { pactl list short sources 2>/dev/null | awk '{print $2}' | grep -qx "$1"; }
server_up() { pactl info >/dev/null 2>&1; }

all_up() {
    server_up && have_sink "$SPEAKER" && have_sink "$MIC_FEED" && have_source "$MIC"
}

case "${1:-}" in
--stop)
    if server_up; then
        pulseaudio --kill 2>/dev/null || pactl exit 2>/dev/null || true
    fi
    exit 0
    ;;
--check)
    all_up && exit 0
    exit 1
    ;;
"") ;;
*)
    die "unknown option '$1' (use --stop or --check)"
    ;;
esac

command -v pulseaudio >/dev/null 2>&1 || die "pulseaudio not found: apt-get install pulseaudio pulseaudio-utils libasound2-plugins"
command -v pactl >/dev/null 2>&1 || die "pactl not found: apt-get install pulseaudio-utils"

if ! server_up; then
    # As root PulseAudio warns that it is "not intended to be run as root" but runs fine as a
    # per-user daemon; --system is NOT wanted (it refuses module loading by clients).
    # --exit-idle-time=-1: never exit when no client is connected (tests connect and disconnect).
    log="${TMPDIR:-/tmp}/vc-pulseaudio-$(id -u).log"
    if ! pulseaudio --start --exit-idle-time=-1 --log-target="file:$log" >/dev/null 2>&1; then
        # A stale daemon or pid file can make --start fail: clean up once and retry.
        pulseaudio --kill >/dev/null 2>&1 || true
        sleep 0.5
        pulseaudio --start --exit-idle-time=-1 --log-target="file:$log" >/dev/null 2>&1 ||
            die "pulseaudio failed to start; see $log"
    fi
    i=0
    until server_up; do
        i=$((i + 1))
        [ "$i" -le 50 ] || die "pulseaudio started but does not answer; see $log"
        sleep 0.1
    done
fi

if ! have_sink "$SPEAKER"; then
    pactl load-module module-null-sink sink_name="$SPEAKER" rate="$RATE" channels=2 \
        sink_properties=device.description=VoiceCoach_Speaker >/dev/null ||
        die "cannot load module-null-sink $SPEAKER"
fi
if ! have_sink "$MIC_FEED"; then
    pactl load-module module-null-sink sink_name="$MIC_FEED" rate="$RATE" channels=1 \
        sink_properties=device.description=VoiceCoach_Mic_Feed >/dev/null ||
        die "cannot load module-null-sink $MIC_FEED"
fi
if ! have_source "$MIC"; then
    pactl load-module module-remap-source master="$MIC_FEED.monitor" source_name="$MIC" \
        source_properties=device.description=VoiceCoach_Mic >/dev/null ||
        die "cannot load module-remap-source $MIC"
fi

# A null sink renders in blocks as long as its requested latency, up to 2 s when nothing plays
# into it, so a new recording of its monitor (the virtual microphone) could wait 2 s for its
# first data. A low-latency loopback of a silent source keeps each sink rendering in ~10 ms
# blocks, like real hardware: the microphone delivers data at once, and recordings of the
# speaker carry accurate timing even while the coach is silent.
if ! have_source "$SILENCE"; then
    pactl load-module module-null-source source_name="$SILENCE" rate="$RATE" channels=1 \
        description=VoiceCoach_Silence >/dev/null ||
        die "cannot load module-null-source $SILENCE"
fi
for sink in "$MIC_FEED" "$SPEAKER"; do
    if ! pactl list short modules | grep "module-loopback" | grep -q "sink=$sink "; then
        pactl load-module module-loopback source="$SILENCE" sink="$sink" latency_msec=20 \
            source_dont_move=true sink_dont_move=true >/dev/null ||
            die "cannot load module-loopback into $sink"
    fi
done

pactl set-default-sink "$SPEAKER" || die "cannot set default sink $SPEAKER"
pactl set-default-source "$MIC" || die "cannot set default source $MIC"

all_up || die "devices missing after setup"
echo "$SPEAKER $MIC_FEED $MIC"
