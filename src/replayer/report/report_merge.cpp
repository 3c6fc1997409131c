#include "replayer/report/report_merge.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "common/base/error.h"
#include "common/base/stats.h"
#include "common/net/skip_reason.h"

namespace tcpr::replay {
namespace {

using Json = nlohmann::json;

[[noreturn]] void not_a_report(const std::string& name, const std::string& what) {
    throw Error(ErrorKind::Corrupt, "'" + name + "' is not a tcpreplay2 JSON report: " + what);
}

// One object of a report and where it is ("sessions", "endpoints[3]"), for the error line.
class Fields {
  public:
    Fields(const Json& j, std::string path, const std::string& name)
        : j_(j), path_(std::move(path)), name_(name) {
        if (!j_.is_object()) {
            fail(path_.empty() ? "it is not a JSON object" : path_ + " is not an object");
        }
    }

    bool has(const char* key) const { return j_.contains(key); }
    const Json& get(const char* key) const {
        const auto it = j_.find(key);
        if (it == j_.end()) {
            fail(where(key) + " is missing");
        }
        return *it;
    }
    uint64_t u64(const char* key) const {
        const Json& v = get(key);
        if (!v.is_number_unsigned()) {
            fail(where(key) + " is not a count (an integer >= 0)");
        }
        return v.get<uint64_t>();
    }
    uint32_t u32(const char* key) const {
        const uint64_t v = u64(key);
        if (v > UINT32_MAX) {
            fail(where(key) + " is too large");
        }
        return static_cast<uint32_t>(v);
    }
    double number(const char* key) const {
        const Json& v = get(key);
        if (!v.is_number()) {
            fail(where(key) + " is not a number");
        }
        return v.get<double>();
    }
    std::string text(const char* key) const {
        const Json& v = get(key);
        if (!v.is_string()) {
            fail(where(key) + " is not a string");
        }
        return v.get<std::string>();
    }
    const Json& array(const char* key) const {
        const Json& v = get(key);
        if (!v.is_array()) {
            fail(where(key) + " is not an array");
        }
        return v;
    }
    std::vector<std::string> texts(const char* key) const {
        std::vector<std::string> out;
        for (const Json& v : array(key)) {
            if (!v.is_string()) {
                fail(where(key) + " holds something other than strings");
            }
            out.push_back(v.get<std::string>());
        }
        return out;
    }
    Fields object(const char* key) const { return Fields(get(key), where(key), name_); }
    Fields element(const char* key, size_t i, const Json& j) const {
        return Fields(j, where(key) + "[" + std::to_string(i) + "]", name_);
    }

    const Json& json() const { return j_; }
    const std::string& path() const { return path_; }
    std::string where(const char* key) const {
        return path_.empty() ? std::string(key) : path_ + "." + key;
    }
    [[noreturn]] void fail(const std::string& what) const { not_a_report(name_, what); }

  private:
    const Json& j_;
    std::string path_;
    const std::string& name_;
};

// "buckets": [[index, count], ...] as the histograms write them.
template <typename Index>
std::vector<std::pair<Index, uint64_t>> bucket_list(const Fields& f) {
    std::vector<std::pair<Index, uint64_t>> out;
    for (const Json& b : f.array("buckets")) {
        if (!b.is_array() || b.size() != 2 || !b[0].is_number_unsigned() ||
            !b[1].is_number_unsigned() || b[0].get<uint64_t>() > 1'000'000) {
            f.fail(f.where("buckets") + " holds something other than [index, count] pairs");
        }
        out.emplace_back(static_cast<Index>(b[0].get<uint64_t>()), b[1].get<uint64_t>());
    }
    return out;
}

LogHistogram histogram(const Fields& parent, const char* key) {
    const Fields f = parent.object(key);
    const auto h = LogHistogram::from_parts(bucket_list<uint32_t>(f), f.u64("min"), f.u64("max"),
                                            f.u64("sum"));
    if (!h || h->count() != f.u64("count")) {
        f.fail(f.path() + ": its count, buckets, min and max disagree");
    }
    return *h;
}

LatenessHistogram lateness(const Fields& parent) {
    const Fields f = parent.object("start_lateness_us");
    const auto h = LatenessHistogram::from_parts(bucket_list<int>(f), f.u64("early"),
                                                 f.u64("max_ns"), f.u64("sum_ns"));
    if (!h || h->count() != f.u64("count")) {
        f.fail(f.path() + ": its count, buckets and max disagree");
    }
    return *h;
}

// "2x", "0.5x", "max" (format_speed) -> speed x 1000.
uint32_t speed_of(const Fields& f) {
    const std::string text = f.text("speed");
    if (text == "max") {
        return 0;
    }
    char* end = nullptr;
    const double v = text.size() > 1 ? std::strtod(text.c_str(), &end) : 0;
    if (end == nullptr || std::string(end) != "x" || !(v > 0) || v > 1e6) {
        f.fail("speed '" + text + "' is not a speed such as 2x or max");
    }
    return static_cast<uint32_t>(std::llround(v * 1000.0));
}

void parse_sessions(const Fields& f, ReplayCounters& c) {
    c.sessions_planned = f.u64("planned");
    c.sessions_started = f.u64("started");
    c.sessions_completed = f.u64("completed");
    c.sessions_reset = f.u64("reset_by_target");
    c.sessions_timed_out = f.u64("timed_out");
    c.timed_out_intercept_down = f.u64("timed_out_intercept_down");
    c.sessions_aborted = f.u64("aborted");
    // Reports of releases before intercept refused held tuples lack it.
    c.sessions_refused_tuple_held = f.has("refused_tuple_held") ? f.u64("refused_tuple_held") : 0;
    c.closed_early = f.u64("closed_early");
    c.sessions_unanswered = f.u64("closed_unanswered");
    c.closed_with_reset = f.u64("closed_with_reset");
    c.endpoint_waits = f.u64("endpoint_waits");
}

void parse_answers(const Fields& root, ReplayCounters& c) {
    const Fields req = root.object("requests");
    c.requests_sent = req.u64("sent");
    c.requests_unsent = req.u64("not_sent");
    c.requests_unanswered = req.u64("unanswered");
    const Fields resp = root.object("responses");
    c.responses_seen = resp.u64("seen");
    c.responses_complete = resp.u64("complete");
    c.responses_quiet = resp.u64("ended_by_silence");
    c.response_bytes = resp.u64("bytes");
    c.response_bytes_unseen = resp.u64("bytes_not_reported");
    const Fields st = root.object("status_lines");
    c.status_match = st.u64("match");
    c.status_mismatch = st.u64("mismatch");
    c.status_unknown = st.u64("not_comparable");
    const Json& examples = st.array("examples");
    for (size_t i = 0; i < examples.size(); ++i) {
        const Fields e = st.element("examples", i, examples[i]);
        c.mismatch_examples.push_back({e.text("client"), e.u32("session"), e.u32("request"),
                                       e.text("expected"), e.text("got")});
    }
}

void parse_transport(const Fields& root, ReplayCounters& c) {
    const Fields p = root.object("packets");
    c.packets_sent = p.u64("sent");
    c.bytes_sent = p.u64("bytes");
    c.payload_bytes_sent = p.u64("payload_bytes");
    c.retransmissions = p.u64("retransmissions");
    c.retransmissions_spurious = p.u64("retransmissions_spurious");
    c.syn_retransmissions = p.u64("syn_retransmissions");
    c.syn_tuple_in_use = p.u64("syn_tuple_in_use");
    c.send_would_block = p.u64("dropped_queue_full");
    c.send_failed = p.u64("failed");
    c.send_refused = p.u64("refused");
    const Fields i = root.object("intercept_link");
    c.reports = i.u64("reports");
    c.reports_unmatched = i.u64("unmatched");
    c.intercept_disconnects = i.u64("disconnects");
    c.intercept_reconnects = i.u64("reconnects");
    c.start_lateness = lateness(root);
}

void parse_input(const Fields& root, RunSummary& s) {
    const Fields f = root.object("input_stats");
    BuildStats& b = s.build;
    b.records = f.u64("frames");
    b.connections = f.u64("connections");
    s.sessions_in_recording = f.u64("sessions");
    b.mid_session = f.u64("mid_session");
    b.requests = f.u64("requests");
    b.other_port = f.u64("other_port");
    b.not_selected = f.u64("not_selected");
    b.other_shard = f.has("other_shard") ? f.u64("other_shard") : 0;
    b.without_data = f.u64("without_data");
    b.mid_session_no_boundary = f.u64("mid_session_no_boundary");
    b.mid_session_skipped_bytes = f.u64("mid_session_skipped_bytes");
    b.mid_session_skipped_answers = f.u64("mid_session_skipped_answers");
    s.sessions_skipped_family = f.u64("other_ip_version");
    b.missing_bytes = f.u64("missing_client_bytes");
    s.frames_damaged = f.u64("damaged_frames");
    const Fields reasons = f.object("skipped_by_reason");
    for (const auto& item : reasons.json().items()) {
        const std::string& key = item.key();
        int r = 0;
        while (r < net::kSkipReasonCount &&
               key != net::to_string(static_cast<net::SkipReason>(r))) {
            ++r;
        }
        if (r == net::kSkipReasonCount) {
            f.fail(reasons.path() + " names an unknown reason '" + key + "'");
        }
        b.skipped.by_reason[static_cast<size_t>(r)] = reasons.u64(key.c_str());
    }
    if (b.skipped.total() != f.u64("skipped_frames")) {
        f.fail(f.where("skipped_frames") + " is not the sum of skipped_by_reason");
    }
    s.damage = f.texts("damage");
}

void parse_socket(const Fields& root, RunSummary& s) {
    const Fields f = root.object("socket");
    ReplayCounters& c = s.counters;
    c.sessions_conn_error = f.u64("connection_errors");
    c.connect_refused = f.u64("connect_refused");
    c.connect_timed_out = f.u64("connect_timed_out");
    c.length_equal = f.u64("length_equal");
    c.length_longer = f.u64("length_longer");
    c.length_shorter = f.u64("length_shorter");
    c.responses_differ = f.u64("responses_differ");
    s.diff_file = f.text("diff_file");
}

void parse_endpoints(const Fields& root, EndpointTable& table) {
    const Json& rows = root.array("endpoints");
    std::set<std::string> names;
    for (size_t i = 0; i < rows.size(); ++i) {
        const Fields f = root.element("endpoints", i, rows[i]);
        EndpointStats e;
        e.name = f.text("name");
        if (!names.insert(e.name).second) {
            f.fail("endpoint '" + e.name + "' is listed twice");
        }
        e.requests = f.u64("requests");
        e.status_mismatch = f.u64("status_mismatch");
        e.body_compared = f.u64("body_compared");
        e.body_mismatch = f.u64("body_mismatch");
        e.body_noise = f.u64("body_noise");
        e.head_compared = f.u64("header_compared");
        e.head_mismatch = f.u64("header_mismatch");
        e.head_noise = f.u64("header_noise");
        e.recorded_first_us = histogram(f, "latency_recorded_us");
        e.replayed_first_us = histogram(f, "latency_replayed_us");
        e.recorded_last_us = histogram(f, "latency_last_byte_recorded_us");
        e.replayed_last_us = histogram(f, "latency_last_byte_replayed_us");
        table.add(e);
    }
}

void parse_noise(const Fields& root, RunSummary& s) {
    const Fields f = root.object("noise");
    s.ignored_headers = f.texts("ignored_headers");
    s.ignore_body = f.texts("ignore_body");
    s.ignore_json = f.texts("ignore_json");
    const Fields headers = f.object("headers_differing_between_copies");
    for (const auto& item : headers.json().items()) {
        s.counters.endpoints.noisy_header(item.key(), headers.u64(item.key().c_str()));
    }
}

void parse_examples(const Fields& root, std::vector<DifferenceExample>& out) {
    const Json& items = root.array("difference_examples");
    for (size_t i = 0; i < items.size(); ++i) {
        const Fields f = root.element("difference_examples", i, items[i]);
        out.push_back({f.text("kind"), f.text("endpoint"), f.text("client"), f.u32("session"),
                       f.u32("request"), f.text("request_head"), f.text("recorded"),
                       f.text("replayed")});
    }
}

}  // namespace

RunSummary parse_json_report(std::string_view text, const std::string& name) {
    Json j;
    try {
        j = Json::parse(text);
    } catch (const Json::parse_error& e) {
        not_a_report(name, text.find_first_not_of(" \t\r\n") == std::string_view::npos
                               ? std::string("the file is empty")
                               : "invalid JSON at byte " + std::to_string(e.byte));
    }
    const Fields root(j, "", name);
    if (root.has("live")) {
        throw Error(ErrorKind::Unsupported, "'" + name +
                                                "' is a live passthrough report: only archive "
                                                "replay reports merge");
    }
    RunSummary s;
    s.input = root.text("input");
    s.format = root.text("format");
    s.target = root.text("target");
    s.transport = root.text("transport");
    s.mode = s.transport.rfind("socket", 0) == 0 ? TransportMode::Socket : TransportMode::Raw;
    s.intercept = root.text("intercept");
    s.speed_milli = speed_of(root);
    s.copies = root.u32("copies");
    s.loops = root.u32("loops");
    if (root.has("shard")) {
        const Fields shard = root.object("shard");
        s.shard = shard.u32("index");
        s.shards = shard.u32("count");
        if (s.shards == 0 || s.shard >= s.shards) {
            root.fail("shard.index is not below shard.count");
        }
    }
    s.wall_ns = root.u64("wall_ns");
    s.recorded_ns = root.u64("recorded_ns");
    s.stop_reason = root.text("stop_reason");
    if (root.has("merged_from")) {
        s.merged_from = root.texts("merged_from");
        if (s.merged_from.empty() || root.u64("merged_reports") != s.merged_from.size()) {
            root.fail("merged_reports is not the number of merged_from");
        }
    }
    parse_sessions(root.object("sessions"), s.counters);
    parse_answers(root, s.counters);
    parse_transport(root, s.counters);
    parse_input(root, s);
    parse_socket(root, s);
    parse_endpoints(root, s.counters.endpoints);
    parse_noise(root, s);
    parse_examples(root, s.counters.difference_examples);
    s.max_failed_percent = root.number("max_failed_percent");
    return s;
}

namespace {

uint64_t minus(uint64_t a, uint64_t b) { return a > b ? a - b : 0; }

// The counters of a shard added to the merge's.
void add_counters(ReplayCounters& a, const ReplayCounters& b) {
    a.sessions_planned += b.sessions_planned;
    a.sessions_started += b.sessions_started;
    a.sessions_completed += b.sessions_completed;
    a.sessions_reset += b.sessions_reset;
    a.sessions_timed_out += b.sessions_timed_out;
    a.sessions_aborted += b.sessions_aborted;
    a.sessions_refused_tuple_held += b.sessions_refused_tuple_held;
    a.timed_out_intercept_down += b.timed_out_intercept_down;
    a.closed_early += b.closed_early;
    a.sessions_unanswered += b.sessions_unanswered;
    a.closed_with_reset += b.closed_with_reset;
    a.endpoint_waits += b.endpoint_waits;
    a.requests_sent += b.requests_sent;
    a.requests_unsent += b.requests_unsent;
    a.responses_seen += b.responses_seen;
    a.requests_unanswered += b.requests_unanswered;
    a.responses_complete += b.responses_complete;
    a.responses_quiet += b.responses_quiet;
    a.response_bytes += b.response_bytes;
    a.response_bytes_unseen += b.response_bytes_unseen;
    a.status_match += b.status_match;
    a.status_mismatch += b.status_mismatch;
    a.status_unknown += b.status_unknown;
    for (const StatusMismatch& m : b.mismatch_examples) {
        if (a.mismatch_examples.size() < ReplayCounters::kMaxExamples) {
            a.mismatch_examples.push_back(m);
        }
    }
    a.endpoints.merge(b.endpoints);
    // A run keeps the first example of each kind per endpoint (answer_votes.cpp).
    for (const DifferenceExample& d : b.difference_examples) {
        const bool have = std::any_of(a.difference_examples.begin(), a.difference_examples.end(),
                                      [&](const DifferenceExample& e) {
                                          return e.kind == d.kind && e.endpoint == d.endpoint;
                                      });
        if (!have && a.difference_examples.size() < kMaxDifferenceExamples) {
            a.difference_examples.push_back(d);
        }
    }
    a.packets_sent += b.packets_sent;
    a.bytes_sent += b.bytes_sent;
    a.payload_bytes_sent += b.payload_bytes_sent;
    a.retransmissions += b.retransmissions;
    a.retransmissions_spurious += b.retransmissions_spurious;
    a.syn_retransmissions += b.syn_retransmissions;
    a.syn_tuple_in_use += b.syn_tuple_in_use;
    a.send_would_block += b.send_would_block;
    a.send_refused += b.send_refused;
    a.send_failed += b.send_failed;
    a.reports += b.reports;
    a.reports_unmatched += b.reports_unmatched;
    a.intercept_reconnects += b.intercept_reconnects;
    a.intercept_disconnects += b.intercept_disconnects;
    a.start_lateness.merge(b.start_lateness);
    a.sessions_conn_error += b.sessions_conn_error;
    a.connect_refused += b.connect_refused;
    a.connect_timed_out += b.connect_timed_out;
    a.length_equal += b.length_equal;
    a.length_longer += b.length_longer;
    a.length_shorter += b.length_shorter;
    a.responses_differ += b.responses_differ;
}

// The facts of the sessions a shard selected: they add.
void add_selected(RunSummary& a, const RunSummary& b) {
    BuildStats& x = a.build;
    const BuildStats& y = b.build;
    x.without_data += y.without_data;
    x.mid_session_skipped_bytes += y.mid_session_skipped_bytes;
    x.mid_session_skipped_answers += y.mid_session_skipped_answers;
    x.mid_session_no_boundary += y.mid_session_no_boundary;
    x.sessions += y.sessions;
    x.mid_session += y.mid_session;
    x.requests += y.requests;
    x.client_bytes += y.client_bytes;
    x.missing_bytes += y.missing_bytes;
    x.oversized_segments += y.oversized_segments;
    a.sessions_in_recording += b.sessions_in_recording;
    a.sessions_skipped_family += b.sessions_skipped_family;
}

// The facts of the input file: the file's when every shard read the same one (`same`), else
// the sum over the files.
// Shards (--shard) split the file's connections: each counts those of other ports only among
// its own, so other_port adds (`sharded`).
void merge_file_facts(RunSummary& a, const RunSummary& b, bool same, bool sharded) {
    auto fact = [same](uint64_t& x, uint64_t y) { x = same ? std::max(x, y) : x + y; };
    BuildStats& x = a.build;
    const BuildStats& y = b.build;
    fact(x.records, y.records);
    fact(x.tcp_packets, y.tcp_packets);
    for (size_t r = 0; r < x.skipped.by_reason.size(); ++r) {
        fact(x.skipped.by_reason[r], y.skipped.by_reason[r]);
    }
    fact(x.connections, y.connections);
    if (sharded) {
        x.other_port += y.other_port;
    } else {
        fact(x.other_port, y.other_port);
    }
    fact(a.frames_damaged, b.frames_damaged);
    for (const std::string& d : b.damage) {
        if (a.damage.size() < 5 &&
            std::find(a.damage.begin(), a.damage.end(), d) == a.damage.end()) {
            a.damage.push_back(d);
        }
    }
}

// `into` with the ", "-separated items of `more` it lacks appended.
void join_distinct(std::string& into, const std::string& more) {
    size_t start = 0;
    while (start < more.size()) {
        size_t end = more.find(", ", start);
        if (end == std::string::npos) {
            end = more.size();
        }
        const std::string item = more.substr(start, end - start);
        start = end + 2;
        bool have = false;
        for (size_t at = 0; at < into.size() && !have;) {
            size_t e = into.find(", ", at);
            if (e == std::string::npos) {
                e = into.size();
            }
            have = into.compare(at, e - at, item) == 0;
            at = e + 2;
        }
        if (!have && !item.empty()) {
            into += (into.empty() ? "" : ", ") + item;
        }
    }
}

std::string joined(const std::vector<std::string>& v) {
    std::string o;
    for (const std::string& s : v) {
        o += (o.empty() ? "" : " ") + s;
    }
    return o.empty() ? "none" : o;
}

// Warnings for what makes `b` a shard of another run than `a`.
void compare_runs(const ShardReport& a, const ShardReport& b, std::vector<std::string>& out) {
    const RunSummary& x = a.summary;
    const RunSummary& y = b.summary;
    auto differ = [&](const char* what, const std::string& vx, const std::string& vy) {
        if (vx != vy) {
            out.push_back("'" + b.name + "' is of another run than '" + a.name + "': " + what +
                          " '" + vy + "', not '" + vx + "' (merged all the same)");
        }
    };
    differ("input", x.input, y.input);
    differ("target", x.target, y.target);
    differ("transport", x.transport, y.transport);
    differ("speed", format_speed(x.speed_milli), format_speed(y.speed_milli));
    differ("copies", std::to_string(x.copies), std::to_string(y.copies));
    differ("loops", std::to_string(x.loops), std::to_string(y.loops));
    differ("ignored headers", joined(x.ignored_headers), joined(y.ignored_headers));
    differ("--ignore", joined(x.ignore_body), joined(y.ignore_body));
    differ("--ignore-json", joined(x.ignore_json), joined(y.ignore_json));
    differ("--max-failed", fixed_text(x.max_failed_percent, 3) + "%",
           fixed_text(y.max_failed_percent, 3) + "%");
}

}  // namespace

MergedReport merge_summaries(const std::vector<ShardReport>& shards) {
    MergedReport m;
    if (shards.empty()) {
        return m;
    }
    const RunSummary& first = shards.front().summary;
    RunSummary& s = m.summary;
    s.format = first.format;
    s.target = first.target;
    s.transport = first.transport;
    s.mode = first.mode;
    s.speed_milli = first.speed_milli;
    s.copies = first.copies;
    s.loops = first.loops;
    s.ignored_headers = first.ignored_headers;
    s.ignore_body = first.ignore_body;
    s.ignore_json = first.ignore_json;
    s.max_failed_percent = first.max_failed_percent;
    const bool same_input = std::all_of(shards.begin(), shards.end(), [&](const ShardReport& r) {
        return r.summary.input == first.input && r.summary.format == first.format;
    });
    const bool sharded = std::any_of(shards.begin(), shards.end(),
                                     [](const ShardReport& r) { return r.summary.shards > 1; });
    uint64_t selected = 0;  // connections the shards selected (same input)
    uint64_t own = 0;       // connections the shards had to themselves (--shard)
    std::vector<bool> shard_seen(first.shards, false);
    bool every_shard = sharded;
    for (const ShardReport& shard : shards) {
        const RunSummary& r = shard.summary;
        if (&shard != &shards.front()) {
            compare_runs(shards.front(), shard, m.warnings);
        }
        join_distinct(s.input, r.input);
        join_distinct(s.intercept, r.intercept);
        join_distinct(s.diff_file, r.diff_file);
        s.wall_ns = std::max(s.wall_ns, r.wall_ns);
        s.recorded_ns = std::max(s.recorded_ns, r.recorded_ns);
        if (s.stop_reason.empty()) {
            s.stop_reason = r.stop_reason;
        }
        add_counters(s.counters, r.counters);
        add_selected(s, r);
        merge_file_facts(s, r, same_input, sharded);
        own += minus(r.build.connections, r.build.other_shard);
        if (r.shards == first.shards && r.shard < shard_seen.size()) {
            shard_seen[r.shard] = true;
        } else {
            every_shard = false;
        }
        if (same_input) {
            selected +=
                minus(minus(minus(r.build.connections, r.build.other_shard), r.build.other_port),
                      r.build.not_selected);
        } else {
            s.build.not_selected += r.build.not_selected;
        }
        if (r.merged_from.empty()) {
            s.merged_from.push_back(shard.name);
        } else {
            s.merged_from.insert(s.merged_from.end(), r.merged_from.begin(), r.merged_from.end());
        }
    }
    if (sharded && same_input) {
        // The shards' connections, the file's less those no merged shard had (0 when every
        // shard of the run is merged: the whole recording, as one replayer).
        s.build.other_shard = minus(s.build.connections, own);
        every_shard = every_shard && std::all_of(shard_seen.begin(), shard_seen.end(),
                                                 [](bool seen) { return seen; });
        s.shard = every_shard ? 0 : first.shard;
        s.shards = every_shard ? 1 : first.shards;
    }
    if (same_input) {
        // The connections of the file that no shard selected.
        s.build.not_selected = minus(
            minus(minus(s.build.connections, s.build.other_shard), s.build.other_port), selected);
    }
    return m;
}

}  // namespace tcpr::replay
