#include "common/os/stop_signal.h"

#include <atomic>
#include <signal.h>

#include <pcap/pcap.h>

namespace tcpr::os {
namespace {
std::atomic<bool> g_stop{false};
std::atomic<pcap*> g_capture{nullptr};

extern "C" void on_signal(int) {
    g_stop.store(true);
    if (pcap* p = g_capture.load()) {
        pcap_breakloop(p);  // documented as safe to call from a signal handler
    }
}
}  // namespace

void StopSignal::install() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGHUP, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);
}

bool StopSignal::requested() { return g_stop.load(std::memory_order_relaxed); }
void StopSignal::request() { on_signal(0); }
void StopSignal::reset_for_test() { g_stop.store(false); }
void StopSignal::set_capture(pcap* p) { g_capture.store(p); }

}  // namespace tcpr::os
