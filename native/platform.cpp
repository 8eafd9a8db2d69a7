// Small operating-system services the TypeScript layer cannot reach from Node, registered on the addon's exports by
// register_platform_functions (addon.cpp):
//   lockFile(fd): an exclusive advisory lock (flock LOCK_EX | LOCK_NB) on an open file; false when another open file
//                 description holds it. The kernel drops it when the descriptor is closed or the process dies, even
//                 by SIGKILL, so a killed run never leaves its output locked.
//   gpuDevices(): the names of the GPU devices llama.cpp's loaded backends offer (none on a CPU-only machine).
//   cpuBackend(): the file of the CPU backend llama.cpp loaded (a prebuilt variant, the one compiled on this machine,
//                 or the addon itself when llama.cpp is compiled in); empty where that cannot be told (Windows).
#include "platform.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include "ggml-backend.h"

#ifdef _WIN32
#include <io.h>
#include <windows.h>
#else
#include <dlfcn.h>
#include <sys/file.h>
#endif

namespace infoprune {
namespace {

// Returns whether the lock was taken; throws on errors other than "held by someone else".
bool try_lock_exclusive(int fd) {
#ifdef _WIN32
  HANDLE handle = reinterpret_cast<HANDLE>(_get_osfhandle(fd));
  OVERLAPPED overlapped = {};
  if (LockFileEx(handle, LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY, 0, MAXDWORD, MAXDWORD, &overlapped)) {
    return true;
  }
  if (GetLastError() == ERROR_LOCK_VIOLATION) return false;
  throw std::runtime_error("LockFileEx failed with error " + std::to_string(GetLastError()));
#else
  for (;;) {
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) return true;
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) return false;
    throw std::runtime_error(std::string("flock failed: ") + std::strerror(errno));
  }
#endif
}

Napi::Value LockFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "lockFile(fd): fd must be a number");
  try {
    return Napi::Boolean::New(env, try_lock_exclusive(info[0].As<Napi::Number>().Int32Value()));
  } catch (const std::exception& error) {
    throw Napi::Error::New(env, error.what());
  }
}

Napi::Value GpuDevices(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array names = Napi::Array::New(env);
  uint32_t count = 0;
  for (size_t i = 0; i < ggml_backend_dev_count(); i++) {
    ggml_backend_dev_t device = ggml_backend_dev_get(i);
    const enum ggml_backend_dev_type type = ggml_backend_dev_type(device);
    if (type == GGML_BACKEND_DEVICE_TYPE_GPU || type == GGML_BACKEND_DEVICE_TYPE_IGPU) {
      names.Set(count++,
                std::string(ggml_backend_dev_name(device)) + " (" + ggml_backend_dev_description(device) + ")");
    }
  }
  return names;
}

Napi::Value CpuBackend(const Napi::CallbackInfo& info) {
  std::string file;
#ifndef _WIN32
  // A function the CPU backend exports through its registry lives in its library: dladdr names that file.
  ggml_backend_reg_t reg = ggml_backend_reg_by_name("CPU");
  void* function = reg == nullptr ? nullptr : ggml_backend_reg_get_proc_address(reg, "ggml_backend_set_n_threads");
  Dl_info where;
  if (function != nullptr && dladdr(function, &where) != 0 && where.dli_fname != nullptr) file = where.dli_fname;
#endif
  return Napi::String::New(info.Env(), file);
}

}  // namespace

void register_platform_functions(Napi::Env env, Napi::Object exports) {
  exports.Set("lockFile", Napi::Function::New(env, LockFile, "lockFile"));
  exports.Set("gpuDevices", Napi::Function::New(env, GpuDevices, "gpuDevices"));
  exports.Set("cpuBackend", Napi::Function::New(env, CpuBackend, "cpuBackend"));
}

}  // namespace infoprune
