package smemu

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// fakeRIE imitates the Lambda Runtime Interface Emulator's invoke endpoint:
// it checks the request, passes the event to handler and answers as the RIE
// does, with an {"errorType","errorMessage"} body when the handler fails.
func fakeRIE(t *testing.T, handler func(ctx context.Context, ev RotationEvent) error) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/2015-03-31/functions/function/invocations" {
			http.Error(w, "wrong endpoint", http.StatusNotFound)
			return
		}
		var ev RotationEvent
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &ev); err != nil {
			http.Error(w, "bad event", http.StatusBadRequest)
			return
		}
		if err := handler(r.Context(), ev); err != nil {
			json.NewEncoder(w).Encode(map[string]any{"errorType": "errorString", "errorMessage": err.Error()})
			return
		}
		w.Write([]byte("null"))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestRIEInvoker(t *testing.T) {
	event := RotationEvent{Step: stepSetSecret, SecretID: "arn:x", ClientRequestToken: token(1), RotationToken: token(2)}
	payload, _ := json.Marshal(event)
	tests := []struct {
		name     string
		answer   func(w http.ResponseWriter)
		wantErr  bool
		wantType string // FunctionError.Type when the function itself failed
	}{
		{"success", func(w http.ResponseWriter) { w.Write([]byte("null")) }, false, ""},
		{"function error body", func(w http.ResponseWriter) {
			w.Write([]byte(`{"errorType":"errorString","errorMessage":"datadog said no"}`))
		}, true, "errorString"},
		{"function error header", func(w http.ResponseWriter) {
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			w.Write([]byte(`"boom"`))
		}, true, "Unhandled"},
		{"non-2xx", func(w http.ResponseWriter) { w.WriteHeader(http.StatusBadGateway) }, true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got RotationEvent
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != rieInvokePath || r.Method != http.MethodPost {
					t.Errorf("request %s %s", r.Method, r.URL.Path)
				}
				json.NewDecoder(r.Body).Decode(&got)
				tc.answer(w)
			}))
			defer srv.Close()
			err := RIEInvoker{Endpoint: srv.URL + "/"}.Invoke(ctxT(t), testLambda, payload)
			if got != event {
				t.Fatalf("RIE received %+v, want %+v", got, event)
			}
			if (err != nil) != tc.wantErr {
				t.Fatalf("Invoke error = %v, want error %v", err, tc.wantErr)
			}
			var fe *FunctionError
			if isFE := errors.As(err, &fe); isFE != (tc.wantType != "") || (isFE && fe.Type != tc.wantType) {
				t.Fatalf("error = %#v, want FunctionError type %q", err, tc.wantType)
			}
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		if err := (RIEInvoker{Endpoint: srv.URL}).Invoke(ctxT(t), testLambda, payload); err == nil {
			t.Fatal("want an error from a closed endpoint")
		}
	})
}

func TestRouter(t *testing.T) {
	var calls []string
	named := func(name string) Invoker {
		return InvokerFunc(func(context.Context, string, []byte) error { calls = append(calls, name); return nil })
	}
	r := Router{Routes: map[string]Invoker{"arn:a": named("a")}}
	if !r.CanInvoke("arn:a") || r.CanInvoke("arn:b") {
		t.Fatal("CanInvoke must follow the routes")
	}
	if err := r.Invoke(ctxT(t), "arn:b", nil); !errors.Is(err, ErrCannotInvoke) {
		t.Fatalf("unrouted Invoke = %v, want ErrCannotInvoke", err)
	}
	r.Default = named("default")
	r.Invoke(ctxT(t), "arn:a", nil)
	r.Invoke(ctxT(t), "arn:b", nil)
	if !slices.Equal(calls, []string{"a", "default"}) || !r.CanInvoke("arn:b") {
		t.Fatalf("calls = %v", calls)
	}
}

// TestRotationThroughRIE runs a rotation whose function sits behind the
// RIE endpoint; its first testSecret fails with a Lambda function error.
func TestRotationThroughRIE(t *testing.T) {
	rot := newTemplateRotator()
	rot.failNext(stepTestSecret, 1)
	rie := fakeRIE(t, func(ctx context.Context, ev RotationEvent) error {
		payload, _ := json.Marshal(ev)
		return rot.Invoke(ctx, testLambda, payload)
	})
	h, _ := newRotationHarness(t, Options{Invoker: Router{Routes: map[string]Invoker{testLambda: RIEInvoker{Endpoint: rie.URL}}}})
	rot.setClient(h.sm)
	createWithToken(t, h, "rot/rie", token(1), "v1")
	if _, err := h.rotate(t, "rot/rie", token(2), &types.RotationRulesType{AutomaticallyAfterDays: aws.Int64(1)}); err != nil {
		t.Fatal(err)
	}
	h.waitIdle(t)
	want := []string{stepCreateSecret, stepSetSecret, stepTestSecret, stepCreateSecret, stepSetSecret, stepTestSecret, stepFinishSecret}
	if got := rot.steps(); !slices.Equal(got, want) {
		t.Fatalf("steps = %v, want %v", got, want)
	}
	if !slices.Contains(h.stages(t, "rot/rie")[token(2)], "AWSCURRENT") {
		t.Fatal("rotation through the RIE did not complete")
	}
}
