// Errors the bindings hand to JS, defined once for every binding file.
#pragma once

#include <napi.h>

namespace infoprune {

// What a cancelled call rejects with: the same shape as Node's own AbortError.
inline Napi::Error abort_error(Napi::Env env) {
  Napi::Error error = Napi::Error::New(env, "The operation was aborted");
  error.Set("name", "AbortError");
  error.Set("code", "ABORT_ERR");
  return error;
}

}  // namespace infoprune
