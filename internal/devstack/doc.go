// Package devstack starts ddconn locally: the Secrets Manager emulator
// (internal/smemu), the Datadog simulator (internal/ddsim) and the HTTP API
// (every function on one mux), each on its own loopback listener. The
// local EventBridge (internal/busemu) and KMS (internal/kmsemu, holding
// the connection key ConnectionKeyID and the readers' grants on it) share
// the Secrets Manager emulator's listener, told apart by X-Amz-Target.
//
// The API is wired exactly as on Lambda — the real pkg/secretstore adapter
// (AWS SDK) pointed at the emulator's URL and the real pkg/datadog adapter
// (Datadog's client) pointed at the simulator's URL — so `make dev` and the
// integration tests exercise the code that runs in production.
//
// A rotation function can be plugged in with Options.RotationFunction: it is
// built once the adapters exist and the emulator invokes it in-process for
// Options.RotationFunctionARN. RotationFunction(act) is the real one: the
// rotate function's Rotator, in-process. With it, the API's rotation routes
// use that ARN; without it, they answer that rotation is not configured.
// Stack.Sweeper is the rotate function's sweeper; Options.SweepInterval
// runs it on a timer, as EventBridge does on AWS.
package devstack
