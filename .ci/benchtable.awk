# Turns `go test -bench` output into one table: each row with its MB/s and the
# ratio to the raw-file limit measured in the same run (Append→RawFileWrite,
# Read→RawFileRead, same record size).
/^Benchmark/ {
  name = $1; sub(/-[0-9]+$/, "", name); sub(/^Benchmark/, "", name)
  for (i = 2; i <= NF; i++) if ($(i+1) == "MB/s") mbs[name] = $i
  order[++n] = name
}
END {
  limit["Append"] = "RawFileWrite"; limit["Read"] = "RawFileRead"
  printf "%-28s %12s %12s %8s\n", "benchmark", "MB/s", "limit MB/s", "ratio"
  for (k = 1; k <= n; k++) {
    name = order[k]; split(name, p, "/")
    lim = (p[1] in limit) ? limit[p[1]] "/" p[2] : ""
    if (lim != "" && (lim in mbs) && mbs[lim] > 0)
      printf "%-28s %12.1f %12.1f %7.2fx\n", name, mbs[name], mbs[lim], mbs[name] / mbs[lim]
    else
      printf "%-28s %12.1f %12s %8s\n", name, mbs[name], "-", "-"
  }
}
