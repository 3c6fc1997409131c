#include "replayer/run/merge_reports.h"

#include <cstdio>
#include <filesystem>
#include <span>

#include "common/base/error.h"
#include "common/base/log.h"
#include "common/cli/run_main.h"
#include "common/os/files.h"
#include "replayer/report/html_report.h"
#include "replayer/report/report_merge.h"

namespace tcpr::replay {
namespace {

namespace fs = std::filesystem;

// A report larger than this is not one of ours (10,000 endpoints take about 20 MiB).
constexpr size_t kMaxReportBytes = size_t{1} << 30;

// Whether two names are one file: the same path once made absolute, or (existing) the same
// inode.
bool same_path(const std::string& a, const std::string& b) {
    std::error_code ea, eb;
    const fs::path pa = fs::weakly_canonical(a, ea), pb = fs::weakly_canonical(b, eb);
    return (!ea && !eb && pa == pb) || os::same_file(a, b);
}

void check_output(const std::string& out, const MergeReportsOptions& o) {
    for (const std::string& in : o.inputs) {
        if (same_path(out, in)) {
            throw Error(ErrorKind::Usage, "--merge-reports: the output '" + out +
                                              "' is also an input: give another name");
        }
    }
    os::check_output_path(out, "--merge-reports");
}

void write_atomically(const std::string& path, const std::string& text) {
    os::AtomicFile f = os::AtomicFile::create(path);
    f.write(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
    f.commit();
}

}  // namespace

int merge_reports(const MergeReportsOptions& o) {
    if (o.verbosity >= 2) {
        log::set_level(log::Level::Debug);
    } else if (o.quiet) {
        log::set_level(log::Level::Warn);
    }
    if (o.inputs.empty()) {
        throw Error(ErrorKind::Usage,
                    "--merge-reports takes the output, then at least one shard report: "
                    "--merge-reports OUT.json IN.json...");
    }
    for (size_t i = 0; i < o.inputs.size(); ++i) {
        for (size_t k = 0; k < i; ++k) {
            if (same_path(o.inputs[i], o.inputs[k])) {
                throw Error(ErrorKind::Usage, "--merge-reports: '" + o.inputs[i] +
                                                  "' is given twice (its counts would add twice)");
            }
        }
    }
    if (!o.out_html.empty() && same_path(o.out_html, o.out_json)) {
        throw Error(ErrorKind::Usage,
                    "--merge-reports: the JSON and the HTML report are both '" + o.out_json + "'");
    }
    check_output(o.out_json, o);
    if (!o.out_html.empty()) {
        check_output(o.out_html, o);
    }

    std::vector<ShardReport> shards;
    for (const std::string& in : o.inputs) {
        const std::vector<uint8_t> bytes = os::read_head(in, kMaxReportBytes + 1);
        if (bytes.size() > kMaxReportBytes) {
            throw Error(ErrorKind::Corrupt,
                        "'" + in + "' is not a tcpreplay2 JSON report: larger than 1 GiB");
        }
        const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
        shards.push_back({in, parse_json_report(text, in)});
        log::debug("read %s", in.c_str());
    }
    const MergedReport merged = merge_summaries(shards);
    for (const std::string& w : merged.warnings) {
        log::warn("%s", w.c_str());
    }
    write_atomically(o.out_json, format_json(merged.summary));
    if (!o.out_html.empty()) {
        write_atomically(o.out_html, format_html(merged.summary));
    }
    std::fputs(format_summary(merged.summary).c_str(), stdout);
    std::fflush(stdout);
    return failed_beyond(merged.summary) ? kExitDamaged : kExitOk;
}

}  // namespace tcpr::replay
