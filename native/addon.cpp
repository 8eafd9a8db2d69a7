// Node-API bindings for the scoring engine (engine.hpp). The surface is small on purpose: the TypeScript layer
// (src/engine/) validates every option before calling in, so these functions only check types defensively.
// Long work (model load, scoring) runs on libuv's thread pool through AsyncWorker; nothing per token crosses
// into JS. The addon is context-aware (per-environment instance data), so worker threads can load it too.
#include <napi.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "binding_errors.hpp"
#include "engine.hpp"
#include "platform.hpp"
#include "trainer_binding.hpp"

namespace infoprune {
namespace {

// ---------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------

int32_t int_option(const Napi::Object& options, const char* name, int32_t fallback) {
  const Napi::Value value = options.Get(name);
  return value.IsNumber() ? value.As<Napi::Number>().Int32Value() : fallback;
}

bool bool_option(const Napi::Object& options, const char* name, bool fallback) {
  const Napi::Value value = options.Get(name);
  return value.IsBoolean() ? value.As<Napi::Boolean>().Value() : fallback;
}

Napi::Object model_info_object(Napi::Env env, const ModelInfo& info) {
  Napi::Object object = Napi::Object::New(env);
  object.Set("architecture", info.architecture);
  object.Set("description", info.description);
  object.Set("vocabularySize", info.vocabulary_size);
  object.Set("trainingContextSize", info.training_context_size);
  object.Set("addsBos", info.adds_bos);
  object.Set("bosToken", info.bos_token);
  object.Set("parameterCount", static_cast<double>(info.parameter_count));
  object.Set("sizeBytes", static_cast<double>(info.size_bytes));
  return object;
}

// ---------------------------------------------------------------------------------------------------------------
// NativeModel: a loaded model (weights, or vocabulary only)
// ---------------------------------------------------------------------------------------------------------------

class NativeModel : public Napi::ObjectWrap<NativeModel> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeModel",
                       {InstanceMethod<&NativeModel::Info>("info"), InstanceMethod<&NativeModel::Tokenize>("tokenize"),
                        InstanceMethod<&NativeModel::TokenizeTexts>("tokenizeTexts"),
                        InstanceMethod<&NativeModel::Dispose>("dispose")});
  }

  // Constructed only from C++ with an External<std::shared_ptr<Model>>.
  explicit NativeModel(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeModel>(info) {
    auto* handle = info[0].As<Napi::External<std::shared_ptr<Model>>>().Data();
    model_ = std::move(*handle);
    delete handle;
  }

  std::shared_ptr<Model> model(Napi::Env env) const {
    if (!model_) throw Napi::Error::New(env, "The model has been closed");
    return model_;
  }

 private:
  Napi::Value Info(const Napi::CallbackInfo& info) { return model_info_object(info.Env(), model(info.Env())->info()); }

  Napi::Value Tokenize(const Napi::CallbackInfo& info) {
    const std::string text = info[0].As<Napi::String>().Utf8Value();
    const std::vector<llama_token> tokens = model(info.Env())->tokenize(text);
    Napi::Int32Array out = Napi::Int32Array::New(info.Env(), tokens.size());
    std::copy(tokens.begin(), tokens.end(), out.Data());
    return out;
  }

  // tokenizeTexts(texts: string[]): Promise<Int32Array[]>, tokenized on libuv's thread pool
  Napi::Value TokenizeTexts(const Napi::CallbackInfo& info);

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    model_.reset();
    return info.Env().Undefined();
  }

  std::shared_ptr<Model> model_;
};

// Tokenizes texts off the JS thread (1 MB of text takes about a second). llama.cpp's tokenizer only reads the
// vocabulary, so this may run while the same model decodes; the worker's shared_ptr keeps the model alive even if
// JS disposes it meanwhile. The strings are copied to UTF-8 on the JS thread (a memcpy-speed pass).
class TokenizeWorker : public Napi::AsyncWorker {
 public:
  TokenizeWorker(Napi::Env env, std::shared_ptr<Model> model, std::vector<std::string> texts)
      : Napi::AsyncWorker(env, "infoprune:tokenize"),
        deferred_(Napi::Promise::Deferred::New(env)),
        model_(std::move(model)),
        texts_(std::move(texts)) {}

  Napi::Promise promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      tokens_.reserve(texts_.size());
      for (const std::string& text : texts_) tokens_.push_back(model_->tokenize(text));
    } catch (const std::exception& error) {
      SetError(error.what());
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Array out = Napi::Array::New(env, tokens_.size());
    for (size_t i = 0; i < tokens_.size(); i++) {
      Napi::Int32Array array = Napi::Int32Array::New(env, tokens_[i].size());
      std::copy(tokens_[i].begin(), tokens_[i].end(), array.Data());
      out.Set(static_cast<uint32_t>(i), array);
    }
    deferred_.Resolve(out);
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<Model> model_;
  std::vector<std::string> texts_;
  std::vector<std::vector<llama_token>> tokens_;
};

Napi::Value NativeModel::TokenizeTexts(const Napi::CallbackInfo& info) {
  const Napi::Array texts = info[0].As<Napi::Array>();
  std::vector<std::string> copies;
  copies.reserve(texts.Length());
  for (uint32_t i = 0; i < texts.Length(); i++) copies.push_back(texts.Get(i).As<Napi::String>().Utf8Value());
  auto* worker = new TokenizeWorker(info.Env(), model(info.Env()), std::move(copies));
  worker->Queue();  // AsyncWorker deletes itself when done
  return worker->promise();
}

// ---------------------------------------------------------------------------------------------------------------
// NativeContext: a scoring context over a model
// ---------------------------------------------------------------------------------------------------------------

// One scoring call, run off the JS thread. Inputs are copied on the JS thread (JS may reuse its buffers meanwhile).
class ScoreWorker : public Napi::AsyncWorker {
 public:
  ScoreWorker(Napi::Env env, std::shared_ptr<ScoringContext> context, std::shared_ptr<std::atomic<bool>> cancel,
              bool want_logprobs)
      : Napi::AsyncWorker(env, "infoprune:score"),
        deferred_(Napi::Promise::Deferred::New(env)),
        context_(std::move(context)),
        cancel_(std::move(cancel)),
        want_logprobs_(want_logprobs) {}

  std::vector<std::vector<llama_token>> documents;
  bool decode_only = false;  // benchmark ceiling: decode with every position's logits, no log-softmax

  Napi::Promise promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      if (decode_only) {
        evaluated_ = context_->decode_only(documents, *cancel_);
      } else {
        results_ = context_->score(documents, want_logprobs_, *cancel_);
      }
    } catch (const AbortedError&) {
      aborted_ = true;
      SetError("aborted");
    } catch (const std::exception& error) {
      SetError(error.what());
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (decode_only) {
      deferred_.Resolve(Napi::Number::New(env, static_cast<double>(evaluated_)));
      return;
    }
    const size_t count = results_.size();
    Napi::Object out = Napi::Object::New(env);
    Napi::Uint32Array tokens = Napi::Uint32Array::New(env, count);
    Napi::Float64Array nll = Napi::Float64Array::New(env, count);
    for (size_t i = 0; i < count; i++) {
      tokens[i] = results_[i].tokens_scored;
      nll[i] = results_[i].nll;
    }
    out.Set("tokens", tokens);
    out.Set("nll", nll);
    if (want_logprobs_) {
      Napi::Array logprobs = Napi::Array::New(env, count);
      for (size_t i = 0; i < count; i++) {
        const std::vector<float>& values = results_[i].logprobs;
        Napi::Float32Array array = Napi::Float32Array::New(env, values.size());
        std::copy(values.begin(), values.end(), array.Data());
        logprobs.Set(static_cast<uint32_t>(i), array);
      }
      out.Set("logprobs", logprobs);
    }
    deferred_.Resolve(out);
  }

  void OnError(const Napi::Error& error) override {
    deferred_.Reject(aborted_ ? abort_error(Env()).Value() : error.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<ScoringContext> context_;  // keeps the context alive even if JS disposes it meanwhile
  std::shared_ptr<std::atomic<bool>> cancel_;
  bool want_logprobs_;
  bool aborted_ = false;
  std::vector<DocumentScore> results_;
  uint64_t evaluated_ = 0;
};

class NativeContext : public Napi::ObjectWrap<NativeContext> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "NativeContext",
        {InstanceMethod<&NativeContext::ScoreTokens>("scoreTokens"),
         InstanceMethod<&NativeContext::DecodeOnly>("decodeOnly"), InstanceMethod<&NativeContext::Abort>("abort"),
         InstanceMethod<&NativeContext::Dispose>("dispose")});
  }

  // new NativeContext(model: NativeModel, options)
  explicit NativeContext(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeContext>(info) {
    Napi::Env env = info.Env();
    NativeModel* model = NativeModel::Unwrap(info[0].As<Napi::Object>());
    const Napi::Object options = info[1].As<Napi::Object>();
    ContextOptions context_options;
    context_options.context_size = int_option(options, "contextSize", context_options.context_size);
    context_options.stride = int_option(options, "stride", context_options.stride);
    context_options.batch_size = int_option(options, "batchSize", context_options.batch_size);
    context_options.max_sequences = int_option(options, "maxSequences", context_options.max_sequences);
    context_options.threads = int_option(options, "threads", context_options.threads);
    context_options.flash_attention = bool_option(options, "flashAttention", context_options.flash_attention);
    try {
      context_ = std::make_shared<ScoringContext>(model->model(env), context_options);
    } catch (const std::exception& error) {
      throw Napi::Error::New(env, error.what());
    }
  }

 private:
  std::shared_ptr<ScoringContext> context(Napi::Env env) const {
    if (!context_) throw Napi::Error::New(env, "The scoring context has been closed");
    return context_;
  }

  // Copies documents (Int32Array[]) into the worker. Out-of-range ids make llama.cpp abort the process, so they
  // are checked here, on the JS thread, before any decode.
  void copy_documents(Napi::Env env, const Napi::Array& documents, ScoreWorker* worker) {
    const int32_t vocabulary_size = context_->model().info().vocabulary_size;
    const uint32_t count = documents.Length();
    worker->documents.resize(count);
    for (uint32_t d = 0; d < count; d++) {
      const Napi::Int32Array tokens = documents.Get(d).As<Napi::Int32Array>();
      const int32_t* data = tokens.Data();
      const size_t length = tokens.ElementLength();
      for (size_t i = 0; i < length; i++) {
        if (data[i] < 0 || data[i] >= vocabulary_size) {
          throw Napi::RangeError::New(env, "Expected token ids in [0, " + std::to_string(vocabulary_size) +
                                               ") for documents[" + std::to_string(d) + "].tokens but received " +
                                               std::to_string(data[i]) + " at index " + std::to_string(i));
        }
      }
      worker->documents[d].assign(data, data + length);
    }
  }

  // scoreTokens(documents: Int32Array[], wantLogprobs: boolean): Promise<{ tokens, nll, logprobs? }>
  Napi::Value ScoreTokens(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto worker = std::make_unique<ScoreWorker>(env, context(env), new_call_cancel_flag(), info[1].ToBoolean().Value());
    copy_documents(env, info[0].As<Napi::Array>(), worker.get());
    const Napi::Promise promise = worker->promise();
    worker.release()->Queue();  // AsyncWorker deletes itself when done
    return promise;
  }

  // decodeOnly(documents: Int32Array[]): Promise<number> (tokens evaluated; the benchmark's ceiling)
  Napi::Value DecodeOnly(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto worker = std::make_unique<ScoreWorker>(env, context(env), new_call_cancel_flag(), false);
    worker->decode_only = true;
    copy_documents(env, info[0].As<Napi::Array>(), worker.get());
    const Napi::Promise promise = worker->promise();
    worker.release()->Queue();
    return promise;
  }

  // Cancels the call made last (the JS layer runs one call at a time per context, so that is the one in flight).
  Napi::Value Abort(const Napi::CallbackInfo& info) {
    if (last_call_cancel_) last_call_cancel_->store(true);
    return info.Env().Undefined();
  }

  // Each call gets its own flag, so an abort meant for one call can never cancel the next.
  std::shared_ptr<std::atomic<bool>> new_call_cancel_flag() {
    last_call_cancel_ = std::make_shared<std::atomic<bool>>(false);
    return last_call_cancel_;
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    context_.reset();
    return info.Env().Undefined();
  }

  std::shared_ptr<ScoringContext> context_;
  std::shared_ptr<std::atomic<bool>> last_call_cancel_;
};

// ---------------------------------------------------------------------------------------------------------------
// Model loading
// ---------------------------------------------------------------------------------------------------------------

ModelOptions model_options(const Napi::Value& value) {
  ModelOptions options;
  if (value.IsObject()) {
    const Napi::Object object = value.As<Napi::Object>();
    options.gpu_layers = int_option(object, "gpuLayers", options.gpu_layers);
    options.vocab_only = bool_option(object, "vocabOnly", options.vocab_only);
  }
  return options;
}

class LoadModelWorker : public Napi::AsyncWorker {
 public:
  LoadModelWorker(Napi::Env env, std::string path, ModelOptions options, Napi::FunctionReference* constructor)
      : Napi::AsyncWorker(env, "infoprune:loadModel"),
        deferred_(Napi::Promise::Deferred::New(env)),
        path_(std::move(path)),
        options_(options),
        constructor_(constructor) {}

  Napi::Promise promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      model_ = std::make_shared<Model>(path_, options_);
    } catch (const std::exception& error) {
      SetError(error.what());
    }
  }
  void OnOK() override {
    auto* handle = new std::shared_ptr<Model>(std::move(model_));
    deferred_.Resolve(constructor_->New({Napi::External<std::shared_ptr<Model>>::New(Env(), handle)}));
  }
  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::string path_;
  ModelOptions options_;
  Napi::FunctionReference* constructor_;
  std::shared_ptr<Model> model_;
};

class InfopruneAddon : public Napi::Addon<InfopruneAddon> {
 public:
  InfopruneAddon(Napi::Env env, Napi::Object exports) {
    model_constructor_ = Napi::Persistent(NativeModel::Define(env));
    context_constructor_ = Napi::Persistent(NativeContext::Define(env));
    trainer_constructor_ = Napi::Persistent(DefineNativeTrainer(env));
    DefineAddon(exports, {InstanceMethod<&InfopruneAddon::Initialize>("initialize"),
                          InstanceMethod<&InfopruneAddon::SetVerbose>("setVerbose"),
                          InstanceMethod<&InfopruneAddon::LoadModel>("loadModel"),
                          InstanceMethod<&InfopruneAddon::LoadModelSync>("loadModelSync"),
                          InstanceMethod<&InfopruneAddon::SystemInfo>("systemInfo"),
                          InstanceMethod<&InfopruneAddon::CreateTrainer>("createTrainer"),
                          InstanceValue("NativeContext", context_constructor_.Value())});
    register_platform_functions(env, exports);
  }

 private:
  // initialize(backendDirectory: string, verbose: boolean, cpuBackend: string ('' for the prebuilt variants))
  Napi::Value Initialize(const Napi::CallbackInfo& info) {
    set_llama_logging(info[1].ToBoolean().Value());
    load_backends_once(info[0].As<Napi::String>().Utf8Value(), info[2].As<Napi::String>().Utf8Value());
    return info.Env().Undefined();
  }

  Napi::Value SetVerbose(const Napi::CallbackInfo& info) {
    set_llama_logging(info[0].ToBoolean().Value());
    return info.Env().Undefined();
  }

  // loadModel(path, { gpuLayers, vocabOnly }): Promise<NativeModel>
  Napi::Value LoadModel(const Napi::CallbackInfo& info) {
    auto* worker = new LoadModelWorker(info.Env(), info[0].As<Napi::String>().Utf8Value(), model_options(info[1]),
                                       &model_constructor_);
    worker->Queue();
    return worker->promise();
  }

  // loadModelSync(path, { gpuLayers, vocabOnly }): NativeModel (for vocabulary-only loads in worker threads)
  Napi::Value LoadModelSync(const Napi::CallbackInfo& info) {
    std::shared_ptr<Model> model;
    try {
      model = std::make_shared<Model>(info[0].As<Napi::String>().Utf8Value(), model_options(info[1]));
    } catch (const std::exception& error) {
      throw Napi::Error::New(info.Env(), error.what());
    }
    auto* handle = new std::shared_ptr<Model>(std::move(model));
    return model_constructor_.New({Napi::External<std::shared_ptr<Model>>::New(info.Env(), handle)});
  }

  Napi::Value SystemInfo(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), llama_print_system_info());
  }

  // createTrainer(initialModelPath, options): Promise<NativeTrainer> (native/trainer_binding.cpp)
  Napi::Value CreateTrainer(const Napi::CallbackInfo& info) {
    return infoprune::CreateTrainer(info, trainer_constructor_);
  }

  Napi::FunctionReference model_constructor_;
  Napi::FunctionReference context_constructor_;
  Napi::FunctionReference trainer_constructor_;
};

}  // namespace
}  // namespace infoprune

using InfopruneAddon = infoprune::InfopruneAddon;
NODE_API_ADDON(InfopruneAddon)
