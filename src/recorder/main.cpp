// tcprec: record live TCP traffic or import pcap/pcapng into a .pcap.zst archive; inspect,
// verify and repair archives. All the work is in the tcpr_recorder library.
#include <CLI/CLI.hpp>

#include "common/base/error.h"
#include "common/cli/run_main.h"
#include "recorder/commands.h"

int main(int argc, char** argv) {
    return tcpr::run_main("tcprec", [&] {
        CLI::App app{
            "tcprec: record TCP traffic into a zstd-compressed, session-indexed pcap archive"};
        tcpr::rec::Commands commands(app);
        try {
            app.parse(argc, argv);
        } catch (const CLI::ParseError& e) {
            if (e.get_exit_code() == 0) {
                return app.exit(e);  // --help, --version
            }
            // Like every other usage error: one "tcprec: error: ..." line, exit 2.
            throw tcpr::Error(tcpr::ErrorKind::Usage, std::string(e.what()) + " (see --help)");
        }
        return commands.run();
    });
}
