package httpapi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The benchmarks call the API handler in-process; the Datadog and Secrets
// Manager calls go over loopback HTTP to the stand-ins through the real
// clients. Allocations therefore include the adapters' clients and the
// stand-ins' server side, which run in the same process.

func BenchmarkCreate(b *testing.B) {
	e := newEnv(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		serveBench(b, e, "POST", "/connections", e.createBody(fmt.Sprintf("bench-%d", i), e.rotatorKey), http.StatusCreated)
	}
}

func BenchmarkValidate(b *testing.B) {
	e := newEnv(b)
	body := `{"credentials":{"url":"us5.datadoghq.com","apiKey":"` + e.apiKey + `","applicationKey":"` + e.rotatorKey + `"}}`
	b.ReportAllocs()
	for b.Loop() {
		serveBench(b, e, "POST", "/connections/validate", body, http.StatusOK)
	}
}

func BenchmarkValidateStored(b *testing.B) {
	e := newEnv(b)
	serveBench(b, e, "POST", "/connections", e.createBody("stored", e.rotatorKey), http.StatusCreated)
	b.ReportAllocs()
	for b.Loop() {
		serveBench(b, e, "POST", "/connections/stored/validate", "", http.StatusOK)
	}
}

func serveBench(b *testing.B, e *env, method, path, body string, want int) {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	e.Handler.ServeHTTP(rec, req)
	if rec.Code != want {
		b.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
	}
}
