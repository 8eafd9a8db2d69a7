// Node-API bindings of the trainer (native/trainer.hpp): every slow call (loading, tokenizing, training, evaluating,
// saving) runs on libuv's thread pool and returns a promise; the JS layer (src/train/native-trainer.ts) validates
// every argument and runs one call at a time per trainer.
#include "trainer_binding.hpp"

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "binding_errors.hpp"
#include "trainer.hpp"

namespace infoprune {
namespace {

// One call run off the JS thread: `work` runs on the thread pool, `convert` turns its result into a JS value.
template <typename Result>
class TaskWorker : public Napi::AsyncWorker {
 public:
  TaskWorker(Napi::Env env, std::function<Result()> work, std::function<Napi::Value(Napi::Env, Result&)> convert)
      : Napi::AsyncWorker(env, "infoprune:train"),
        deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)),
        convert_(std::move(convert)) {}

  // Queues the worker (which deletes itself when done) and returns its promise.
  static Napi::Promise Start(Napi::Env env, std::function<Result()> work,
                             std::function<Napi::Value(Napi::Env, Result&)> convert) {
    auto* worker = new TaskWorker(env, std::move(work), std::move(convert));
    const Napi::Promise promise = worker->deferred_.Promise();
    worker->Queue();
    return promise;
  }

 protected:
  void Execute() override {
    try {
      result_ = work_();
    } catch (const AbortedError&) {
      aborted_ = true;
      SetError("aborted");
    } catch (const std::exception& error) {
      SetError(error.what());
    }
  }
  void OnOK() override { deferred_.Resolve(convert_(Env(), result_)); }
  void OnError(const Napi::Error& error) override {
    deferred_.Reject(aborted_ ? abort_error(Env()).Value() : error.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::function<Result()> work_;
  std::function<Napi::Value(Napi::Env, Result&)> convert_;
  Result result_{};
  bool aborted_ = false;
};

Napi::Value number_value(Napi::Env env, double& value) { return Napi::Number::New(env, value); }

std::vector<llama_token> copy_tokens(const Napi::Value& value) {
  const Napi::Int32Array array = value.As<Napi::Int32Array>();
  return std::vector<llama_token>(array.Data(), array.Data() + array.ElementLength());
}

int32_t int_field(const Napi::Object& object, const char* name) { return object.Get(name).As<Napi::Number>(); }
float float_field(const Napi::Object& object, const char* name) {
  return object.Get(name).As<Napi::Number>().FloatValue();
}

TrainerOptions trainer_options(const Napi::Object& object) {
  TrainerOptions options;
  options.context_size = int_field(object, "contextSize");
  options.threads = int_field(object, "threads");
  options.gpu_layers = int_field(object, "gpuLayers");
  options.seed = static_cast<uint64_t>(object.Get("seed").As<Napi::Number>().Int64Value());
  options.learning_rate = float_field(object, "learningRate");
  options.min_learning_rate_ratio = float_field(object, "minLearningRateRatio");
  options.beta1 = float_field(object, "beta1");
  options.beta2 = float_field(object, "beta2");
  options.weight_decay = float_field(object, "weightDecay");
  options.warmup_steps = object.Get("warmupSteps").As<Napi::Number>().Int64Value();
  options.total_steps = object.Get("totalSteps").As<Napi::Number>().Int64Value();
  return options;
}

// ---------------------------------------------------------------------------------------------------------------
// NativeTrainer
// ---------------------------------------------------------------------------------------------------------------

class NativeTrainer : public Napi::ObjectWrap<NativeTrainer> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "NativeTrainer",
        {InstanceMethod<&NativeTrainer::SetTrainingTokens>("setTrainingTokens"),
         InstanceMethod<&NativeTrainer::InitialiseFromBigrams>("initialiseFromBigrams"),
         InstanceMethod<&NativeTrainer::Train>("train"), InstanceMethod<&NativeTrainer::SetTotalSteps>("setTotalSteps"),
         InstanceMethod<&NativeTrainer::Evaluate>("evaluate"), InstanceMethod<&NativeTrainer::Save>("save"),
         InstanceMethod<&NativeTrainer::EmbeddingChange>("embeddingChange"),
         InstanceMethod<&NativeTrainer::RememberWeights>("rememberWeights"),
         InstanceMethod<&NativeTrainer::RestoreWeights>("restoreWeights"), InstanceMethod<&NativeTrainer::Info>("info"),
         InstanceMethod<&NativeTrainer::Abort>("abort"), InstanceMethod<&NativeTrainer::Dispose>("dispose")});
  }

  // Constructed only by createTrainer() with an External<std::shared_ptr<Trainer>>.
  explicit NativeTrainer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeTrainer>(info) {
    auto* handle = info[0].As<Napi::External<std::shared_ptr<Trainer>>>().Data();
    trainer_ = std::move(*handle);
    delete handle;
  }

 private:
  std::shared_ptr<Trainer> trainer(Napi::Env env) const {
    if (!trainer_) throw Napi::Error::New(env, "The trainer has been closed");
    return trainer_;
  }

  // setTrainingTokens(tokens: Int32Array): void (copied; checked against the vocabulary)
  Napi::Value SetTrainingTokens(const Napi::CallbackInfo& info) {
    try {
      trainer(info.Env())->set_training_tokens(copy_tokens(info[0]));
    } catch (const std::runtime_error& error) {
      throw Napi::Error::New(info.Env(), error.what());
    }
    return info.Env().Undefined();
  }

  // initialiseFromBigrams(fitIterations: number): Promise<number> (the factorisation's largest singular value)
  Napi::Value InitialiseFromBigrams(const Napi::CallbackInfo& info) {
    auto trainer = this->trainer(info.Env());
    const int32_t fit_iterations = info[0].As<Napi::Number>();
    return TaskWorker<double>::Start(
        info.Env(), [trainer, fit_iterations] { return trainer->initialise_from_bigrams(fit_iterations); },
        number_value);
  }

  // train(steps: number): Promise<number> (mean loss in nats per token)
  Napi::Value Train(const Napi::CallbackInfo& info) {
    auto trainer = this->trainer(info.Env());
    const int32_t steps = info[0].As<Napi::Number>();
    auto cancel = new_call_cancel_flag();
    return TaskWorker<double>::Start(
        info.Env(), [trainer, steps, cancel] { return trainer->train(steps, *cancel); }, number_value);
  }

  // setTotalSteps(steps: number): void (the cosine schedule's end)
  Napi::Value SetTotalSteps(const Napi::CallbackInfo& info) {
    trainer(info.Env())->set_total_steps(info[0].As<Napi::Number>().Int64Value());
    return info.Env().Undefined();
  }

  // evaluate(tokens: Int32Array, maxWindows: number): Promise<number> (mean loss in nats per token)
  Napi::Value Evaluate(const Napi::CallbackInfo& info) {
    auto trainer = this->trainer(info.Env());
    const int32_t max_windows = info[1].As<Napi::Number>();
    return TaskWorker<double>::Start(
        info.Env(),
        [trainer, tokens = copy_tokens(info[0]), max_windows] { return trainer->evaluate(tokens, max_windows); },
        number_value);
  }

  // save(path: string): Promise<void>
  Napi::Value Save(const Napi::CallbackInfo& info) {
    auto trainer = this->trainer(info.Env());
    std::string path = info[0].As<Napi::String>().Utf8Value();
    return TaskWorker<bool>::Start(
        info.Env(),
        [trainer, path] {
          trainer->save(path);
          return true;
        },
        [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); });
  }

  Napi::Value EmbeddingChange(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), trainer(info.Env())->embedding_change());
  }

  // rememberWeights(), restoreWeights(): a host copy of every weight, and back (between calls, never during one).
  Napi::Value RememberWeights(const Napi::CallbackInfo& info) {
    trainer(info.Env())->remember_weights();
    return info.Env().Undefined();
  }

  Napi::Value RestoreWeights(const Napi::CallbackInfo& info) {
    try {
      trainer(info.Env())->restore_weights();
    } catch (const std::runtime_error& error) {
      throw Napi::Error::New(info.Env(), error.what());
    }
    return info.Env().Undefined();
  }

  // info(): { vocabularySize, parameterCount, stepsDone, bosToken }
  Napi::Value Info(const Napi::CallbackInfo& info) {
    auto trainer = this->trainer(info.Env());
    const ModelInfo& model = trainer->model().info();
    Napi::Object out = Napi::Object::New(info.Env());
    out.Set("vocabularySize", model.vocabulary_size);
    out.Set("parameterCount", static_cast<double>(model.parameter_count));
    out.Set("bosToken", model.bos_token);
    out.Set("stepsDone", static_cast<double>(trainer->steps_done()));
    return out;
  }

  // Cancels the train() call in flight (the JS layer runs one call at a time).
  Napi::Value Abort(const Napi::CallbackInfo& info) {
    if (last_call_cancel_) last_call_cancel_->store(true);
    return info.Env().Undefined();
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    trainer_.reset();  // a call in flight keeps its own reference until it finishes
    return info.Env().Undefined();
  }

  std::shared_ptr<std::atomic<bool>> new_call_cancel_flag() {
    last_call_cancel_ = std::make_shared<std::atomic<bool>>(false);
    return last_call_cancel_;
  }

  std::shared_ptr<Trainer> trainer_;
  std::shared_ptr<std::atomic<bool>> last_call_cancel_;
};

}  // namespace

// createTrainer(initialModelPath: string, options): Promise<NativeTrainer>
Napi::Value CreateTrainer(const Napi::CallbackInfo& info, Napi::FunctionReference& trainer_constructor) {
  std::string path = info[0].As<Napi::String>().Utf8Value();
  const TrainerOptions options = trainer_options(info[1].As<Napi::Object>());
  Napi::FunctionReference* constructor = &trainer_constructor;
  using Handle = std::shared_ptr<Trainer>;
  return TaskWorker<Handle>::Start(
      info.Env(), [path, options] { return std::make_shared<Trainer>(path, options); },
      [constructor](Napi::Env env, Handle& trainer) -> Napi::Value {
        return constructor->New({Napi::External<Handle>::New(env, new Handle(std::move(trainer)))});
      });
}

Napi::Function DefineNativeTrainer(Napi::Env env) { return NativeTrainer::Define(env); }

}  // namespace infoprune
