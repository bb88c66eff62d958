#!/usr/bin/env bash
# Runs the whole benchmark suite (about 25-30 minutes on 2 cores) and renders benchmarks/RESULTS.md.
#
#   benchmarks/run-all.sh            # build, run everything, render
#   benchmarks/run-all.sh --report   # only re-render RESULTS.md from benchmarks/results/
#   QUICK=1 benchmarks/run-all.sh    # ~9 minutes: everything once, tiny, to prove it starts; the
#                                    # numbers are meaningless and go to benchmarks/target/ only
#
# Run it on a quiet machine: anything else using the CPU shows up as noise (RESULTS.md reports the
# load average and each result's error). JMH JSON and the aux logs (KMS calls, peak heap) go to
# benchmarks/results/. Needs only Maven Central (for the build); every AWS client is an in-process
# fake KMS or points at 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
RESULTS="$ROOT/benchmarks/results"
JAR="$ROOT/benchmarks/target/benchmarks.jar"
REPORT="$ROOT/benchmarks/RESULTS.md"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
export AWS_EC2_METADATA_DISABLED=true

render() {
  "$JAVA" -cp "$JAR" com.panops.crypto.benchmarks.report.Report "$RESULTS" "$REPORT"
}

if [[ -n "${QUICK:-}" ]]; then
  # meaningless numbers: kept out of the committed results
  RESULTS="$ROOT/benchmarks/target/quick-results"
  REPORT="$ROOT/benchmarks/target/RESULTS-quick.md"
fi

if [[ "${1:-}" == "--report" ]]; then
  render
  exit 0
fi

START=$(date +%s)
./mvnw -B -q -pl benchmarks -am package -DskipTests -Dspotless.check.skip=true

rm -rf "$RESULTS"
mkdir -p "$RESULTS"
S3MOCK_JAR="$ROOT/benchmarks/target/s3mock/s3mock-exec.jar"

{
  echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "nproc=$(nproc)"
  echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "memory=$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "os=$(uname -sr)"
  echo "java=$("$JAVA" -version 2>&1 | head -1)"
  echo "load.before=$(cut -d' ' -f1-3 /proc/loadavg)"
} > "$RESULTS/machine.properties"

HEAP="-Xms2g -Xmx2g -XX:+AlwaysPreTouch"

# jmh NAME [JMH options...]: one JMH invocation, JSON to results/NAME.json, aux log to NAME.aux.jsonl
jmh() {
  local name=$1; shift
  local extra_jvm=""
  if [[ "$1" == --jvm ]]; then extra_jvm=" $2"; shift 2; fi
  echo "=== $name ($(date -u +%H:%M:%S))"
  "$JAVA" -jar "$JAR" "$@" \
    -jvmArgsAppend "$HEAP$extra_jvm -Dpanops.bench.aux=$RESULTS/$name.aux.jsonl -Dpanops.s3mock.jar=$S3MOCK_JAR" \
    -rf json -rff "$RESULTS/$name.json" > "$RESULTS/$name.log" 2>&1 \
    || { echo "FAILED: $name (see $RESULTS/$name.log)"; tail -30 "$RESULTS/$name.log"; exit 1; }
}

if [[ -n "${QUICK:-}" ]]; then
  # every benchmark once, tiny: proves they start; the numbers are meaningless
  SMALL=(-f 1 -wi 1 -w 1s -i 1 -r 1s)
  LARGE=(-f 1 -wi 1 -w 1s -i 1 -r 1s)
  T2=(-f 1 -wi 1 -w 1s -i 1 -r 1s)
  KILL=(-f 1 -wi 1 -w 1s -i 1 -r 1s)
  COLD_JVM=(-f 1 -wi 0 -i 1)
  COLD_MISS=(-f 1 -wi 2 -i 3)
  S3=(-f 1 -wi 0 -i 1 -r 1s)
  JDBC=(-f 1 -wi 0 -i 1 -r 1s)
  SIZES_SMALL=1024
  SIZES_LARGE=1048576
else
  # Warm-up is long because the AWS Encryption SDK needs some 10 s of traffic to reach its speed
  # on 2 cores, and single-shot JDK GCM over buffers above 64 KiB runs on a slow path until the
  # JIT has compiled the other one (see shared DESIGN.md, "Benchmarks").
  SMALL=(-f 1 -wi 6 -w 2s -i 3 -r 1s)
  LARGE=(-f 1 -wi 6 -w 2s -i 3 -r 1s)
  T2=(-f 1 -wi 3 -w 2s -i 3 -r 1s)
  KILL=(-f 1 -wi 4 -w 2s -i 3 -r 2s)
  COLD_JVM=(-f 3 -wi 0 -i 1)
  COLD_MISS=(-f 1 -wi 20 -i 30)
  S3=(-f 1 -wi 4 -w 2s -i 3 -r 2s)
  JDBC=(-f 1 -wi 3 -w 2s -i 3 -r 2s)
  SIZES_SMALL=64,1024,65536
  SIZES_LARGE=1048576
fi
OURS_RAW='EnvelopeBenchmark\.(ours|rawGcm)(Encrypt|Decrypt)$'
KMS_BOUND='EnvelopeBenchmark\.(ours|esdkCaching|esdkKeyring|tink)(Encrypt|Decrypt)$'

# 1. every implementation, one thread, no KMS latency, all payloads, allocation per op
jmh envelope-t1 'EnvelopeBenchmark' -t 1 -p payloadSize=$SIZES_SMALL -p kmsLatencyMs=0 -prof gc "${SMALL[@]}"
jmh envelope-t1-1m 'EnvelopeBenchmark' -t 1 -p payloadSize=$SIZES_LARGE -p kmsLatencyMs=0 -prof gc "${LARGE[@]}"
# 2. two threads: ours and the ceiling
jmh envelope-t2 "$OURS_RAW" -t 2 -p payloadSize=$SIZES_SMALL -p kmsLatencyMs=0 "${T2[@]}"
jmh envelope-t2-1m "$OURS_RAW" -t 2 -p payloadSize=$SIZES_LARGE -p kmsLatencyMs=0 "${LARGE[@]}"
# 3. 5 ms of KMS latency, 1 KiB, every implementation that calls KMS
jmh latency-5ms "$KMS_BOUND" -t 1 -p payloadSize=1024 -p kmsLatencyMs=5 "${SMALL[@]}"
# 4. the kill switch's probe
jmh killswitch 'KillSwitchBenchmark' -t 1 "${KILL[@]}"
# 5. cold start: a cold JVM (0 ms KMS) and a cache miss in a warm JVM (0 and 5 ms)
jmh coldstart-jvm 'ColdStartBenchmark' -p kmsLatencyMs=0 "${COLD_JVM[@]}"
jmh coldstart-miss 'ColdStartBenchmark' -p kmsLatencyMs=0,5 "${COLD_MISS[@]}"
# 6. adapters; the S3 forks get a small young generation so that "peak heap after GC" is sampled
jmh s3 --jvm "-Xmn64m" 'S3Benchmark' -p objectSize=1048576,67108864 -prof gc "${S3[@]}"
jmh jdbc 'JdbcBenchmark' "${JDBC[@]}"

END=$(date +%s)
echo "load.after=$(cut -d' ' -f1-3 /proc/loadavg)" >> "$RESULTS/machine.properties"
echo "duration=$(( (END - START) / 60 )) min $(( (END - START) % 60 )) s" >> "$RESULTS/machine.properties"
render
