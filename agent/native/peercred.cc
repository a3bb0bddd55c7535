// vouch peer-credential addon: who is on the other end of an accepted unix socket (Linux).
// Node has no SO_PEERCRED, and the Workload API authorizes callers by it. No libtss2 here.
// JS API:
//   peerCredentials(fd) -> { pid, uid, gid, pidfd, pidfdSource }
//     pid/uid/gid: SO_PEERCRED, recorded by the kernel when the peer called connect().
//     pidfd: a process file descriptor for that peer: SO_PEERPIDFD (Linux >= 6.5: the connecting
//     process itself, no pid-reuse window), else pidfd_open(pid) (Linux >= 5.3: opened now, so a
//     pid reused since connect() is caught by the caller's uid/gid cross-check), else -1.
//   pidfdExited(pidfd) -> boolean: the process behind the pidfd has exited (poll, no wait).
//   closeFd(fd): closes a pidfd this addon returned.
#include <napi.h>

#include <cerrno>
#include <cstring>
#include <string>

#ifdef __linux__
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#endif

namespace {

// The fd argument, or -1 with a pending JS exception.
int FdArg(const Napi::CallbackInfo& info, const char* what) {
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(info.Env(), std::string(what) + ": expected a file descriptor number").ThrowAsJavaScriptException();
    return -1;
  }
  int64_t fd = info[0].As<Napi::Number>().Int64Value();
  if (fd < 0 || fd > 0x7fffffff) {
    Napi::RangeError::New(info.Env(), std::string(what) + ": file descriptor out of range").ThrowAsJavaScriptException();
    return -1;
  }
  return static_cast<int>(fd);
}

Napi::Value Fail(Napi::Env env, const std::string& message) {
  Napi::Error::New(env, message).ThrowAsJavaScriptException();
  return env.Undefined();
}

std::string Errno(const char* call) { return std::string(call) + " failed: " + std::strerror(errno); }

#ifdef __linux__

Napi::Value PeerCredentials(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, "peerCredentials");
  if (fd < 0) return env.Undefined();
  struct ucred cred;
  socklen_t len = sizeof cred;
  std::memset(&cred, 0, sizeof cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return Fail(env, Errno("getsockopt(SO_PEERCRED)"));
  if (len != sizeof cred || cred.pid <= 0) return Fail(env, "getsockopt(SO_PEERCRED) returned no peer process");

  int pidfd = -1;
  const char* source = "none";
  socklen_t plen = sizeof pidfd;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &plen) == 0 && plen == sizeof pidfd && pidfd >= 0) {
    source = "SO_PEERPIDFD";
  } else {
    pidfd = static_cast<int>(syscall(SYS_pidfd_open, cred.pid, 0));
    if (pidfd >= 0) source = "pidfd_open";
    else pidfd = -1;
  }

  Napi::Object out = Napi::Object::New(env);
  out.Set("pid", Napi::Number::New(env, cred.pid));
  out.Set("uid", Napi::Number::New(env, cred.uid));
  out.Set("gid", Napi::Number::New(env, cred.gid));
  out.Set("pidfd", Napi::Number::New(env, pidfd));
  out.Set("pidfdSource", Napi::String::New(env, source));
  return out;
}

Napi::Value PidfdExited(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, "pidfdExited");
  if (fd < 0) return env.Undefined();
  struct pollfd p;
  p.fd = fd;
  p.events = POLLIN;
  p.revents = 0;
  int r;
  do {
    r = poll(&p, 1, 0);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return Fail(env, Errno("poll(pidfd)"));
  if (p.revents & POLLNVAL) return Fail(env, "poll(pidfd): not an open file descriptor");
  // a pidfd polls readable once its process has exited
  return Napi::Boolean::New(env, r > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR)) != 0);
}

Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  int fd = FdArg(info, "closeFd");
  if (fd >= 0) close(fd);
  return info.Env().Undefined();
}

#else

Napi::Value Unsupported(const Napi::CallbackInfo& info) {
  return Fail(info.Env(), "peer credentials are implemented for Linux only");
}

#endif

Napi::Object Init(Napi::Env env, Napi::Object exports) {
#ifdef __linux__
  exports.Set("peerCredentials", Napi::Function::New(env, PeerCredentials, "peerCredentials"));
  exports.Set("pidfdExited", Napi::Function::New(env, PidfdExited, "pidfdExited"));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd, "closeFd"));
#else
  exports.Set("peerCredentials", Napi::Function::New(env, Unsupported, "peerCredentials"));
  exports.Set("pidfdExited", Napi::Function::New(env, Unsupported, "pidfdExited"));
  exports.Set("closeFd", Napi::Function::New(env, Unsupported, "closeFd"));
#endif
  return exports;
}

}  // namespace

NODE_API_MODULE(vouch_peercred, Init)
