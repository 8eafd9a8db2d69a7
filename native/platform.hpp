// Operating-system services for the TypeScript layer (file locks, GPU discovery): see platform.cpp.
#pragma once

#include <napi.h>

namespace infoprune {

// Adds lockFile, gpuDevices and cpuBackend to the addon's exports.
void register_platform_functions(Napi::Env env, Napi::Object exports);

}  // namespace infoprune
