package kmsgrant_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/ddconn/ddconn/internal/kmsemu"
	"github.com/ddconn/ddconn/pkg/kmsgrant"
)

const keyID = "3f0e9a4c-1d2b-4c5e-8f70-9a1b2c3d4e5f"

func newGrants(t *testing.T) (*kmsgrant.Grants, *kmsemu.Emulator) {
	t.Helper()
	emu, err := kmsemu.New(kmsemu.Options{KeyIDs: []string{keyID}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	g, err := kmsgrant.New(context.Background(), kmsgrant.Options{
		Endpoint: srv.URL, Region: "us-east-1", StaticCredentials: true, MaxAttempts: 2, MaxBackoff: time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return g, emu
}

func TestGrants(t *testing.T) {
	g, emu := newGrants(t)
	ctx := context.Background()
	key := emu.KeyARN(keyID)
	const secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ddconn/connections/keys/c/k-AbCdEf"
	first, err := g.Create(ctx, key, "arn:aws:iam::222222222222:root", secret)
	if err != nil {
		t.Fatal(err)
	}
	again, err := g.Create(ctx, key, "arn:aws:iam::222222222222:root", secret)
	if err != nil || again != first {
		t.Fatalf("a retried Create = %q, %v; want the same grant %q", again, err, first)
	}
	for i := range 120 { // more than one page
		if _, err := g.Create(ctx, key, "arn:aws:iam::333333333333:role/r", secret+string(rune('a'+i%26))+string(rune('a'+i/26))); err != nil {
			t.Fatal(err)
		}
	}
	all, err := g.List(ctx, key)
	if err != nil || len(all) != 121 {
		t.Fatalf("List = %d grants, %v; want 121", len(all), err)
	}
	i := slices.IndexFunc(all, func(gr kmsgrant.Grant) bool { return gr.ID == first })
	if i < 0 || all[i].SecretARN != secret || all[i].Grantee != "arn:aws:iam::222222222222:root" ||
		all[i].Name != kmsgrant.GrantName || !slices.Equal(all[i].Operations, []string{"Decrypt"}) {
		t.Fatalf("grant = %+v", all[i])
	}
	if err := g.Revoke(ctx, key, first); err != nil {
		t.Fatal(err)
	}
	if err := g.Revoke(ctx, key, first); err != nil {
		t.Fatalf("revoking a revoked grant = %v, want nil", err)
	}
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"unknown key", func() error { _, err := g.List(ctx, "00000000-0000-4000-8000-000000000000"); return err }, kmsgrant.ErrNotFound},
		{"invalid grantee", func() error { _, err := g.Create(ctx, key, "", secret); return err }, kmsgrant.ErrInvalid},
		{"server fault", func() error {
			emu.AddFault("ListGrants", "KMSInternalException", 2)
			_, err := g.List(ctx, key)
			return err
		}, kmsgrant.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var ke *kmsgrant.Error
			if !errors.Is(err, tt.want) || !errors.As(err, &ke) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}
