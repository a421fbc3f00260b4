#!/usr/bin/env bash
# The audit step of the GitHub Action (action.yml at the repository root). Runs `trailaudit audit`
# with the action's inputs (INPUT_* variables, set by action.yml), always writing the Markdown and
# SARIF reports to the output directory; appends the Markdown report to the job summary; writes
# the report paths and the exit code to the step's outputs. Exits 0 once the outputs are written:
# the action's last step fails the job with the audit's exit code, so that the outputs (and the
# SARIF upload that reads them) never depend on how a failed step's outputs are kept.
#
# Lists (paths, logs, config, waivers, args) are split on whitespace, without globbing: a path
# with a space in it cannot be given here (use a directory above it).
set -uo pipefail

bin=${TRAILAUDIT_BIN:-trailaudit}
out=${INPUT_OUTPUT_DIR:-trailaudit-report}

# Whitespace (newlines too) separates the words of a list; `read` does not glob them.
read -r -d '' -a paths <<<"${INPUT_PATHS:-}" || true
read -r -d '' -a logs <<<"${INPUT_LOGS:-}" || true
read -r -d '' -a config <<<"${INPUT_CONFIG:-}" || true
read -r -d '' -a waivers <<<"${INPUT_WAIVERS:-}" || true
read -r -d '' -a extra <<<"${INPUT_ARGS:-}" || true

# md for the job summary and sarif for code scanning, whatever else was asked for.
formats=md,sarif
IFS=', ' read -ra asked <<<"${INPUT_FORMATS:-}"
for f in "${asked[@]}"; do
  case ",$formats," in *",$f,"*) ;; *) formats="$formats,$f" ;; esac
done

args=(audit)
args+=("${paths[@]}")
((${#logs[@]})) && args+=(--logs "${logs[@]}")
((${#config[@]})) && args+=(--config "${config[@]}")
((${#waivers[@]})) && args+=(--waivers "${waivers[@]}")
[ -n "${INPUT_POLICIES:-}" ] && args+=(--policies "$INPUT_POLICIES")
[ -n "${INPUT_FRAMEWORK:-}" ] && args+=(--framework "$INPUT_FRAMEWORK")
[ -n "${INPUT_FAIL_ON:-}" ] && args+=(--fail-on "$INPUT_FAIL_ON")
[ "${INPUT_ALLOW_PARTIAL:-false}" = true ] && args+=(--allow-partial)
args+=("${extra[@]}" --format "$formats" -o "$out")

echo "trailaudit ${args[*]}"
"$bin" "${args[@]}"
code=$?
echo "trailaudit exited $code"

if [ "${INPUT_JOB_SUMMARY:-true}" = true ] && [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  if [ -f "$out/report.md" ]; then
    # The report keeps itself under GitHub's 1 MiB job-summary limit (README: `md`).
    cat "$out/report.md" >>"$GITHUB_STEP_SUMMARY"
  else
    printf '**trailaudit exited %s without a report**: see the step log.\n' "$code" >>"$GITHUB_STEP_SUMMARY"
  fi
fi

if [ -n "${GITHUB_OUTPUT:-}" ]; then
  {
    echo "exit-code=$code"
    echo "report-dir=$out"
    for kind in sarif:report.sarif markdown:report.md json:report.json; do
      [ -f "$out/${kind#*:}" ] && echo "${kind%%:*}=$out/${kind#*:}"
    done
  } >>"$GITHUB_OUTPUT"
fi
exit 0
