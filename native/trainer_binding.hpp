// The trainer's Node-API surface, registered by the addon (native/addon.cpp).
#pragma once

#include <napi.h>

namespace infoprune {

// The NativeTrainer class (constructed only by CreateTrainer).
Napi::Function DefineNativeTrainer(Napi::Env env);

// createTrainer(initialModelPath, options): Promise<NativeTrainer>, loading off the JS thread.
Napi::Value CreateTrainer(const Napi::CallbackInfo& info, Napi::FunctionReference& trainer_constructor);

}  // namespace infoprune
