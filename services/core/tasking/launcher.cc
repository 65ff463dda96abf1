#include "services/core/tasking/launcher.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <iostream>
#include <map>

#include "absl/strings/str_cat.h"
#include "services/core/app_context.h"
#include "services/core/db/pool.h"

namespace pulp::core::tasking {
namespace {

// The protocol between worker and launcher: one JSON object per line.
//   worker → launcher: {"run": {task}} | {"kill": pk, "signal": n}
//   launcher → worker: {"done": pk, "outcome": {...}}

Json TaskToJson(const ClaimedTask& t) {
  return {{"pk", t.pk},
          {"name", t.name},
          {"args", t.args},
          {"kwargs", t.kwargs},
          {"logging_cid", t.logging_cid}};
}

ClaimedTask TaskFromJson(const Json& j) {
  return {j.value("pk", ""), j.value("name", ""), j.value("args", Json::array()),
          j.value("kwargs", Json::object()), j.value("logging_cid", "")};
}

// Writes all of `data` to a socket (send, no SIGPIPE) or a pipe (write), waiting when full.
bool WriteAll(int fd, const std::string& data, bool socket = true) {
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t w = socket ? ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL)
                             : ::write(fd, data.data() + off, data.size() - off);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, 1000);
      continue;
    }
    if (w <= 0) return false;
    off += static_cast<size_t>(w);
  }
  return true;
}

// Appends what is readable on `fd` to `buf`; false at end of file or on error.
bool ReadAvailable(int fd, std::string* buf) {
  char chunk[65536];
  while (true) {
    const ssize_t r = ::read(fd, chunk, sizeof chunk);
    if (r > 0) {
      buf->append(chunk, static_cast<size_t>(r));
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    return false;
  }
}

// Complete lines taken off the front of `buf`.
std::vector<std::string> TakeLines(std::string* buf) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t nl; (nl = buf->find('\n', start)) != std::string::npos; start = nl + 1) {
    out.push_back(buf->substr(start, nl - start));
  }
  buf->erase(0, start);
  return out;
}

// The launcher process: forks a child per task, reports how each ended.
class Launcher {
 public:
  Launcher(AppContext& app, int fd) : app_(app), fd_(fd) {}

  [[noreturn]] void Run() {
    while (true) {
      std::vector<pollfd> fds = {{fd_, POLLIN, 0}};
      std::vector<std::string> order;
      for (const auto& [pk, c] : children_) {
        fds.push_back({c.pidfd, POLLIN, 0});
        fds.push_back({c.out_fd, static_cast<short>(c.out_fd >= 0 ? POLLIN : 0), 0});
        order.push_back(pk);
      }
      if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) _exit(2);
      if (fds[0].revents) {
        if (!ReadAvailable(fd_, &in_)) _exit(0);  // the worker is gone; PDEATHSIG ends children
        for (const std::string& line : TakeLines(&in_)) Handle(line);
      }
      for (size_t i = 0; i < order.size(); ++i) {
        auto it = children_.find(order[i]);
        if (it == children_.end()) continue;
        if (it->second.out_fd >= 0 && fds[2 + 2 * i].revents) {
          if (!ReadAvailable(it->second.out_fd, &it->second.out)) {
            ::close(it->second.out_fd);
            it->second.out_fd = -1;
          }
        }
        if (fds[1 + 2 * i].revents & POLLIN) Reap(it);
      }
    }
  }

 private:
  struct Child {
    pid_t pid = -1;
    int pidfd = -1;
    int out_fd = -1;
    std::string out;
  };

  void Handle(const std::string& line) {
    const Json msg = Json::parse(line, nullptr, false);
    if (msg.is_discarded()) return;
    if (msg.contains("run")) {
      Spawn(TaskFromJson(msg["run"]));
    } else if (msg.contains("kill")) {
      auto it = children_.find(msg["kill"].get<std::string>());
      if (it != children_.end()) ::kill(it->second.pid, msg.value("signal", SIGKILL));
    }
  }

  void Spawn(const ClaimedTask& task) {
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0) {
      return Report(task.pk, TaskOutcome::Failure("Could not start the task process."));
    }
    std::cout.flush();
    const pid_t self = getpid();
    const pid_t pid = fork();
    if (pid == 0) {
      ::close(pipefd[0]);
      RunChild(task, pipefd[1], self);
    }
    ::close(pipefd[1]);
    if (pid < 0) {
      ::close(pipefd[0]);
      return Report(task.pk, TaskOutcome::Failure("Could not start the task process."));
    }
    fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
    Child c;
    c.pid = pid;
    c.pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    c.out_fd = pipefd[0];
    children_[task.pk] = c;
  }

  [[noreturn]] void RunChild(const ClaimedTask& task, int out_fd, pid_t launcher) {
    // The task dies with its launcher (which dies with its worker).
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != launcher) _exit(1);
    ::close(fd_);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_IGN);  // Ctrl-C in a terminal is the worker's to handle
    app_.pool = std::make_unique<db::Pool>(app_.settings.database.ConnectionString(), 2);
    const TaskOutcome outcome = ExecuteTask(app_, task);
    if (!WriteAll(out_fd, DumpJson(outcome.ToJson()), /*socket=*/false)) _exit(3);
    ::close(out_fd);
    app_.pool.reset();
    _exit(0);
  }

  void Reap(std::map<std::string, Child>::iterator it) {
    Child& c = it->second;
    if (c.out_fd >= 0) {
      ReadAvailable(c.out_fd, &c.out);
      ::close(c.out_fd);
    }
    int status = 0;
    waitpid(c.pid, &status, 0);
    ::close(c.pidfd);
    TaskOutcome outcome;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      Json j = Json::parse(c.out, nullptr, false);
      outcome = j.is_discarded() ? TaskOutcome::Failure("The task process sent no result.")
                                 : TaskOutcome::FromJson(j);
    } else if (WIFSIGNALED(status)) {
      outcome = TaskOutcome::Failure(absl::StrCat("Killed by signal ", WTERMSIG(status), "."));
    } else {
      outcome = TaskOutcome::Failure(
          absl::StrCat("Task process exited with code ", WEXITSTATUS(status), "."));
    }
    const std::string pk = it->first;
    children_.erase(it);
    Report(pk, outcome);
  }

  void Report(const std::string& pk, const TaskOutcome& outcome) {
    if (!WriteAll(fd_, DumpJson(Json{{"done", pk}, {"outcome", outcome.ToJson()}}) + "\n")) {
      _exit(0);
    }
  }

  AppContext& app_;
  const int fd_;
  std::string in_;
  std::map<std::string, Child> children_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<TaskLauncher>> TaskLauncher::Start(AppContext& app) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return absl::InternalError(absl::StrCat("socketpair: ", strerror(errno)));
  }
  std::cout.flush();
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    ::close(sv[0]);
    fcntl(sv[1], F_SETFL, O_NONBLOCK);  // reads drain what is there, then poll again
    // The worker's signals are the worker's: it decides when a task ends.
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, nullptr);
    // Connections opened before the fork belong to the worker: leak them, never use them.
    app.pool.release();  // NOLINT: intentionally leaked
    Launcher(app, sv[1]).Run();
  }
  ::close(sv[1]);
  fcntl(sv[0], F_SETFL, O_NONBLOCK);
  return std::unique_ptr<TaskLauncher>(new TaskLauncher(pid, sv[0]));
}

TaskLauncher::~TaskLauncher() {
  ::close(fd_);  // the launcher sees end of file and exits; its children die with it
  int status;
  ::kill(pid_, SIGKILL);
  waitpid(pid_, &status, 0);
}

bool TaskLauncher::Send(const std::string& line) { return WriteAll(fd_, line + "\n"); }

bool TaskLauncher::Launch(const ClaimedTask& task) {
  return Send(DumpJson(Json{{"run", TaskToJson(task)}}));
}

void TaskLauncher::Kill(const std::string& pk, int signal) {
  Send(DumpJson(Json{{"kill", pk}, {"signal", signal}}));
}

std::vector<std::pair<std::string, TaskOutcome>> TaskLauncher::Collect(bool* launcher_gone) {
  *launcher_gone = !ReadAvailable(fd_, &in_);
  std::vector<std::pair<std::string, TaskOutcome>> out;
  for (const std::string& line : TakeLines(&in_)) {
    const Json msg = Json::parse(line, nullptr, false);
    if (msg.is_discarded() || !msg.contains("done")) continue;
    out.emplace_back(msg["done"].get<std::string>(),
                     TaskOutcome::FromJson(msg.value("outcome", Json::object())));
  }
  return out;
}

}  // namespace pulp::core::tasking
