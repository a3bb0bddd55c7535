// vouch native TCTI bridge: any tpm2-tss TCTI string (device:, swtpm:, mssim:, tabrmd:) through
// libtss2-tctildr. JS API: new Tcti(conf); tcti.transmit(cmd: Uint8Array): Promise<Uint8Array>;
// tcti.close(). Commands run on a worker thread; the JS side serializes them (one in flight).
// While a command is in flight the object holds a reference to itself and close() only marks it:
// the context is finalized when the worker is done (never freed under a running Transmit/Receive).
#include <napi.h>
#include <tss2/tss2_tctildr.h>
#include <tss2/tss2_tcti.h>
#include <cstring>
#include <string>
#include <vector>

namespace {

std::string RcText(TSS2_RC rc) {
  char buf[32];
  snprintf(buf, sizeof buf, "0x%x", rc);
  return buf;
}

class Tcti;

class TransmitWorker : public Napi::AsyncWorker {
 public:
  TransmitWorker(Napi::Env env, Tcti* owner, TSS2_TCTI_CONTEXT* ctx, std::vector<uint8_t> cmd)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), owner_(owner), ctx_(ctx), cmd_(std::move(cmd)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    TSS2_RC rc = Tss2_Tcti_Transmit(ctx_, cmd_.size(), cmd_.data());
    if (rc != TSS2_RC_SUCCESS) { SetError("Tss2_Tcti_Transmit failed: " + RcText(rc)); return; }
    size_t size = 4096;
    rsp_.resize(size);
    rc = Tss2_Tcti_Receive(ctx_, &size, rsp_.data(), TSS2_TCTI_TIMEOUT_BLOCK);
    if (rc != TSS2_RC_SUCCESS) { SetError("Tss2_Tcti_Receive failed: " + RcText(rc)); return; }
    rsp_.resize(size);
  }
  void OnOK() override;
  void OnError(const Napi::Error& e) override;

 private:
  Napi::Promise::Deferred deferred_;
  Tcti* owner_;
  TSS2_TCTI_CONTEXT* ctx_;
  std::vector<uint8_t> cmd_;
  std::vector<uint8_t> rsp_;
};

class Tcti : public Napi::ObjectWrap<Tcti> {
 public:
  static Napi::Object Init(Napi::Env env, Napi::Object exports) {
    Napi::Function f = DefineClass(env, "Tcti", {
      InstanceMethod("transmit", &Tcti::Transmit),
      InstanceMethod("close", &Tcti::Close),
    });
    exports.Set("Tcti", f);
    return exports;
  }

  Tcti(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Tcti>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsString()) {
      Napi::TypeError::New(env, "Tcti(conf): conf must be a TCTI string").ThrowAsJavaScriptException();
      return;
    }
    std::string conf = info[0].As<Napi::String>();
    TSS2_RC rc = Tss2_TctiLdr_Initialize(conf.c_str(), &ctx_);
    if (rc != TSS2_RC_SUCCESS) {
      ctx_ = nullptr;
      Napi::Error::New(env, "Tss2_TctiLdr_Initialize(\"" + conf + "\") failed: " + RcText(rc)).ThrowAsJavaScriptException();
    }
  }
  ~Tcti() override { Finalize(); }

  /** The worker is done (main thread): drop the self-reference, run a close() that waited. */
  void Done() {
    busy_ = false;
    if (closePending_) Finalize();
    Unref();
  }

 private:
  void Finalize() {
    closePending_ = false;
    if (ctx_) { Tss2_TctiLdr_Finalize(&ctx_); ctx_ = nullptr; }
  }
  Napi::Value Transmit(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!ctx_ || closePending_) { Napi::Error::New(env, "TCTI is closed").ThrowAsJavaScriptException(); return env.Undefined(); }
    if (busy_) { Napi::Error::New(env, "TCTI: a command is already in flight").ThrowAsJavaScriptException(); return env.Undefined(); }
    if (info.Length() < 1 || !info[0].IsTypedArray()) {
      Napi::TypeError::New(env, "transmit(cmd): cmd must be a Uint8Array").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    auto arr = info[0].As<Napi::Uint8Array>();
    std::vector<uint8_t> cmd(arr.Data(), arr.Data() + arr.ByteLength());
    auto* w = new TransmitWorker(env, this, ctx_, std::move(cmd));
    auto p = w->Promise();
    busy_ = true;
    Ref();  // stay alive (and keep ctx_) until the worker is done
    w->Queue();
    return p;
  }
  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (busy_) closePending_ = true;  // finalized by Done()
    else Finalize();
    return info.Env().Undefined();
  }
  TSS2_TCTI_CONTEXT* ctx_ = nullptr;
  bool busy_ = false;
  bool closePending_ = false;
};

void TransmitWorker::OnOK() {
  auto out = Napi::Uint8Array::New(Env(), rsp_.size());
  if (!rsp_.empty()) memcpy(out.Data(), rsp_.data(), rsp_.size());
  owner_->Done();
  deferred_.Resolve(out);
}

void TransmitWorker::OnError(const Napi::Error& e) {
  owner_->Done();
  deferred_.Reject(e.Value());
}

Napi::Object InitAll(Napi::Env env, Napi::Object exports) { return Tcti::Init(env, exports); }

}  // namespace

NODE_API_MODULE(vouch_tcti, InitAll)
