// A live status line on stderr: redrawn in place on a terminal, a periodic plain line otherwise.
#pragma once

#include <chrono>
#include <string>

namespace tcpr::os {

class StatusLine {
  public:
    // enabled=false makes every call a no-op (-q). `period` is the refresh period on a terminal;
    // when stderr is not a terminal, a line is printed every `plain_period` instead.
    explicit StatusLine(bool enabled, std::chrono::milliseconds period = std::chrono::seconds(1),
                        std::chrono::milliseconds plain_period = std::chrono::seconds(10));
    ~StatusLine();  // clears the line on a terminal

    // True when it is time to refresh (callers build the text only then).
    bool due(std::chrono::steady_clock::time_point now) const;
    void show(const std::string& text, std::chrono::steady_clock::time_point now);
    void clear();  // before printing other output

  private:
    bool enabled_;
    bool tty_;
    std::chrono::milliseconds period_;
    std::chrono::steady_clock::time_point last_{};
    bool shown_ = false;
};

}  // namespace tcpr::os
