// tcprec: record live TCP traffic or import pcap/pcapng into a .pcap.zst archive; inspect,
// verify and repair archives. All the work is in the tcpr_recorder library.
#include <CLI/CLI.hpp>

#include "common/cli/run_main.h"
#include "recorder/commands.h"

int main(int argc, char** argv) {
    return tcpr::run_main("tcprec", [&] {
        CLI::App app{
            "tcprec: record TCP traffic into a zstd-compressed, session-indexed pcap archive"};
        tcpr::rec::Commands commands(app);
        if (const auto done = tcpr::parse_command_line(app, argc, argv)) {
            return *done;
        }
        return commands.run();
    });
}
