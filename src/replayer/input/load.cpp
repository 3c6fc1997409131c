#include "replayer/input/load.h"

#include <glob.h>
#include <set>

#include "common/base/error.h"
#include "replayer/input/input_stream.h"

namespace tcpr::replay {
namespace {

bool has_glob_chars(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

}  // namespace

std::vector<std::string> expand_inputs(const std::vector<std::string>& args) {
    std::vector<std::string> out;
    std::set<std::string> seen;
    const auto add = [&](const std::string& path) {
        if (seen.insert(path).second) {
            out.push_back(path);
        }
    };
    for (const std::string& arg : args) {
        if (!has_glob_chars(arg)) {
            add(arg);
            continue;
        }
        glob_t g{};
        const int rc = ::glob(arg.c_str(), GLOB_ERR, nullptr, &g);
        if (rc == 0) {
            for (size_t i = 0; i < g.gl_pathc; ++i) {
                add(g.gl_pathv[i]);
            }
        }
        globfree(&g);
        if (rc == GLOB_NOMATCH) {
            throw Error(ErrorKind::Usage, "--in '" + arg + "': no file matches");
        }
        if (rc != 0) {
            throw Error(ErrorKind::Io, "--in '" + arg + "': cannot read its directory");
        }
    }
    if (out.empty()) {
        throw Error(ErrorKind::Usage, "--in: no input file");
    }
    return out;
}

LoadedInput load_input(const std::vector<std::string>& paths, BuilderOptions options) {
    InputStream in(paths, options.selection.server_port);
    LoadedInput out;
    out.files = in.files();
    out.format = in.format();
    out.link_type = in.first_link_type();
    out.recovered_from = in.recovered_from();
    if (!options.selection.server_port && !options.default_server_port) {
        // The port most connections go to orients mid-session captures.
        options.default_server_port = in.busiest_port();
    }
    out.server_port =
        options.selection.server_port ? options.selection.server_port : options.default_server_port;
    SessionBuilder builder(options);
    InputFrame f;
    while (in.next(f)) {
        builder.add_frame(f.link_type, f.ts_ns, f.bytes);
    }
    out.damage = in.damage();
    out.recording = builder.finish();
    return out;
}

}  // namespace tcpr::replay
