// Shard reports back into one (tcpreplay2 --merge-reports; docs/replay.md, "Merging shard
// reports"): a --report json text parsed back into the RunSummary it was written from, and the
// summaries of shards (replayers each given a disjoint part of one recording) merged into the
// one a single run replaying all of it would have written. Pure: no files, no printing.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "replayer/report/report.h"

namespace tcpr::replay {

// The RunSummary that format_json() wrote as `text`: format_json(parse_json_report(j)) == j for
// every report of an archive replay. `name` (the file) names the input in errors. Throws
// Error(Corrupt) with one line, "'NAME' is not a tcpreplay2 JSON report: WHAT", for text that is
// not JSON, not an object, lacks a field or has one of another type, or holds histograms whose
// numbers disagree; Error(Unsupported) for a live passthrough report (it has a "live" object):
// only archive replay reports merge.
RunSummary parse_json_report(std::string_view text, const std::string& name);

// One shard's report: the file it came from and what it holds.
struct ShardReport {
    std::string name;
    RunSummary summary;
};

// A merge and what it noticed.
struct MergedReport {
    RunSummary summary;
    // One line each: a shard whose run differs from the first one's (target, input, transport,
    // speed, copies, loops, noise rules, --max-failed). They are merged all the same.
    std::vector<std::string> warnings;
};

// Merges shard reports (at least one; none gives an empty summary) into one, exactly:
//  - every count adds; histograms (latency per endpoint, start lateness) merge bucket-wise, so
//    their percentiles are those of the union; endpoints merge by name and rank again;
//  - wall_ns and recorded_ns are the longest shard's (shards start together, --start-at);
//  - the run's settings (speed, copies, transport, noise rules, --max-failed) are the first
//    shard's; distinct inputs, intercepts and --diff files are listed ", "-separated;
//  - the input's facts: when every shard replayed the same input, the facts of the file
//    (frames, skipped frames, connections, other port, damaged frames, recorded span) are the
//    file's (the largest shard's value), those of the sessions each selected add, and
//    "not_selected" counts the connections no shard selected; shards of different inputs add;
//  - examples (status mismatches, differences) are concatenated in shard order, keeping one
//    difference example per kind and endpoint, at most a run's caps;
//  - merged_from lists each run's report once: a merged input contributes its own list, so
//    merging merged reports again gives the merge of all of them.
MergedReport merge_summaries(const std::vector<ShardReport>& shards);

}  // namespace tcpr::replay
