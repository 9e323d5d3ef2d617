package eventbus

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/smithy-go"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want error
	}{
		{name: "ValidationException", err: &smithy.GenericAPIError{Code: "ValidationException", Fault: smithy.FaultClient}, want: ErrRejected},
		{name: "AccessDeniedException", err: &smithy.GenericAPIError{Code: "AccessDeniedException", Fault: smithy.FaultUnknown}, want: ErrRejected},
		{name: "UnrecognizedClientException", err: &smithy.GenericAPIError{Code: "UnrecognizedClientException"}, want: ErrRejected},
		{name: "ThrottlingException", err: &smithy.GenericAPIError{Code: "ThrottlingException", Fault: smithy.FaultClient}, want: ErrUnavailable},
		{name: "InternalException", err: &smithy.GenericAPIError{Code: "InternalException", Fault: smithy.FaultServer}, want: ErrUnavailable},
		{name: "retry quota spent", err: fmt.Errorf("retry: %w", ratelimit.QuotaExceededError{}), want: ErrUnavailable},
		{name: "network", err: errors.New("dial tcp: connection refused"), want: ErrUnavailable},
		{name: "cancelled", err: context.Canceled, want: ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classify(tt.err)
			if !errors.Is(got, tt.want) || !errors.Is(got, tt.err) {
				t.Fatalf("classify(%v) = %v, want %v wrapping the cause", tt.err, got, tt.want)
			}
			other := ErrRejected
			if tt.want == ErrRejected {
				other = ErrUnavailable
			}
			if errors.Is(got, other) {
				t.Fatalf("classify(%v) = %v wraps both outcomes", tt.err, got)
			}
		})
	}
}

func TestEntryErrorOutcome(t *testing.T) {
	tests := []struct {
		code string
		want error
	}{
		{"InternalFailure", ErrUnavailable},
		{"ThrottlingException", ErrUnavailable},
		{"InvalidArgument", ErrRejected},
		{"MalformedDetail", ErrRejected},
		{"NotAuthorizedForSourceException", ErrRejected},
		{"AccessDeniedException", ErrRejected},
	}
	for _, tt := range tests {
		if err := error(&EntryError{Code: tt.code}); !errors.Is(err, tt.want) {
			t.Errorf("EntryError{%s} is not %v", tt.code, tt.want)
		}
	}
}
