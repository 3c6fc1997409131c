// tcpreplay2 --merge-reports OUT IN... [--report html FILE]: the shards' JSON reports read,
// merged (report/report_merge.h) and written as one report, as a single run would have written
// it (docs/replay.md, "Merging shard reports").
#pragma once

#include <string>
#include <vector>

namespace tcpr::replay {

struct MergeReportsOptions {
    std::string out_json;             // OUT
    std::vector<std::string> inputs;  // IN...: the shards' --report json files
    std::string out_html;             // --report html FILE ("" = none)
    int verbosity = 0;                // -v (1), -vv (2)
    bool quiet = false;               // -q
};

// Before reading anything: refuses no IN, an input given twice and an output that is an input
// (Error(Usage)), an output whose directory does not exist (Error(Io)). Then reads and parses
// every input (Error(Io) when one cannot be read, Error(Corrupt) when one is not a report,
// Error(Unsupported) for a live passthrough report), warns once per difference between the
// shards' runs, writes OUT (and the HTML) atomically and prints the merged summary on stdout.
// Returns the exit code a run with these numbers would have: kExitDamaged when the merged
// sessions failed beyond --max-failed, else kExitOk.
int merge_reports(const MergeReportsOptions& o);

}  // namespace tcpr::replay
