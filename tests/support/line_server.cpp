#include "support/line_server.h"

#include <cerrno>
#include <deque>
#include <memory>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace tcpr::test {
namespace {

using Clock = std::chrono::steady_clock;

net::Endpoint loopback(uint16_t port) {
    return net::Endpoint{*net::IpAddress::parse("127.0.0.1"), port};
}

}  // namespace

struct LineServer::Conn {
    explicit Conn(os::TcpConnection c) : tcp(std::move(c)), fd(tcp->fd()) {}
    std::optional<os::TcpConnection> tcp;  // reset() closes the connection
    int fd;
    size_t id = 0;
    std::string in;  // bytes not yet cut into lines
    size_t lines = 0, answered = 0;
    struct Pending {
        Clock::time_point at;
        std::string text;
        bool answer = true;  // false: an answer's tail
    };
    std::deque<Pending> pending;  // answers not yet due
    std::string out;              // due, not yet written
    bool write_closed = false;
    bool done = false;
};

LineServer::LineServer(LineServerConfig config)
    : cfg_(std::move(config)),
      listener_(os::TcpListener::listen(loopback(0), cfg_.never_accept ? 0 : 4096)),
      address_(listener_.local_endpoint()) {
    thread_ = std::thread([this] { run(); });
}

LineServer::~LineServer() {
    stop_ = true;
    thread_.join();
}

std::vector<LineServer::Event> LineServer::events() const {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
}

std::vector<std::string> LineServer::received() const {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
}

void LineServer::run() {
    std::vector<std::unique_ptr<Conn>> conns;
    std::vector<pollfd> fds;
    char buf[65536];
    while (!stop_) {
        // Accept everything waiting.
        while (!cfg_.never_accept) {
            auto a = listener_.accept();
            if (!a.connection) {
                break;
            }
            auto c = std::make_unique<Conn>(std::move(*a.connection));
            c->id = accepted_++;
            c->out = cfg_.greeting;
            {
                std::lock_guard<std::mutex> lock(mu_);
                received_.emplace_back();
            }
            conns.push_back(std::move(c));
        }
        size_t open = 0;
        for (const auto& c : conns) {
            open += c->done ? 0 : 1;
        }
        if (open > max_open_) {
            max_open_ = open;
        }
        // Due answers go out.
        const auto now = Clock::now();
        for (auto& c : conns) {
            while (!c->done && !c->pending.empty() && c->pending.front().at <= now) {
                const Conn::Pending& p = c->pending.front();
                c->out += p.text;
                if (p.answer) {
                    std::lock_guard<std::mutex> lock(mu_);
                    events_.push_back({c->id, c->answered, true, p.text, Clock::now()});
                    ++c->answered;
                }
                c->pending.pop_front();
            }
            while (!c->done && !c->out.empty()) {
                const ssize_t n = ::send(c->fd, c->out.data(), c->out.size(), MSG_NOSIGNAL);
                if (n <= 0) {
                    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                        c->done = true;
                    }
                    break;
                }
                c->out.erase(0, static_cast<size_t>(n));
            }
            if (!c->done && c->out.empty() && !c->write_closed && cfg_.close_after &&
                c->answered >= *cfg_.close_after) {
                ::shutdown(c->fd, SHUT_WR);
                c->write_closed = true;
            }
        }
        // Wait for input (1 ms at most: answers come due on their own).
        fds.clear();
        std::vector<Conn*> polled;
        fds.push_back({listener_.fd(), POLLIN, 0});
        for (auto& c : conns) {
            if (!c->done) {
                fds.push_back({c->fd, POLLIN, 0});
                polled.push_back(c.get());
            }
        }
        if (::poll(fds.data(), fds.size(), 1) <= 0) {
            continue;
        }
        for (size_t i = 1; i < fds.size(); ++i) {
            if (fds[i].revents == 0) {
                continue;
            }
            Conn& c = *polled[i - 1];
            const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                c.done = true;  // the client closed (or failed): close our side too
                if (!cfg_.keep_open) {
                    c.tcp.reset();
                }
                continue;
            }
            if (n < 0) {
                continue;
            }
            c.in.append(buf, static_cast<size_t>(n));
            {
                std::lock_guard<std::mutex> lock(mu_);
                received_[c.id].append(buf, static_cast<size_t>(n));
            }
            for (size_t nl = c.in.find('\n'); nl != std::string::npos && !c.done;
                 nl = c.in.find('\n')) {
                const std::string line = c.in.substr(0, nl);
                c.in.erase(0, nl + 1);
                const size_t index = c.lines++;
                {
                    std::lock_guard<std::mutex> lock(mu_);
                    events_.push_back({c.id, index, false, line, Clock::now()});
                }
                if (cfg_.reset_after && index == *cfg_.reset_after) {
                    const linger l{1, 0};
                    ::setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
                    c.tcp.reset();  // close with linger 0: RST
                    c.done = true;
                    break;
                }
                if (!cfg_.never_answer && !c.write_closed) {
                    const auto due = Clock::now() + cfg_.answer_delay;
                    c.pending.push_back({due, cfg_.answer(c.id, index, line)});
                    if (!cfg_.tail.empty()) {
                        c.pending.push_back({due + cfg_.tail_delay, cfg_.tail, false});
                    }
                }
            }
        }
    }
}

net::Endpoint closed_loopback_port() {
    net::Endpoint e;
    {
        os::TcpListener l = os::TcpListener::listen(loopback(0));
        e = l.local_endpoint();
    }  // closed: nobody listens there any more
    return e;
}

}  // namespace tcpr::test
