package provisioning_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/ddconn/ddconn/internal/ddsim"
	"github.com/ddconn/ddconn/pkg/managedkey"
	"github.com/ddconn/ddconn/pkg/provisioning"
)

// BenchmarkProvisionAndDelete measures a Provision Application Key request
// and the Delete Managed Key request that undoes it, through the real
// clients against the local stand-ins (loopback HTTP included), outcomes
// published to the bus stand-in.
func BenchmarkProvisionAndDelete(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		id := fmt.Sprintf("bench-%d", i)
		mint := request(id+"-mint", provisioning.ProvisionApplicationKey, provisioning.ProvisionApplicationKeyDetail{
			Connection: platform, MintInput: managedkey.MintInput{Name: "bench", ServiceAccountID: ddsim.DemoMetricsWriterID, Scopes: []string{"metrics_read"}}})
		del := request(id+"-delete", provisioning.DeleteManagedKey, provisioning.DeleteManagedKeyDetail{
			Connection: platform, Kind: provisioning.KindApplicationKey, Name: "bench"})
		if err := e.st.Provisioning.Handle(ctx, mint); err != nil {
			b.Fatal(err)
		}
		if err := e.st.Provisioning.Handle(ctx, del); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRejectInvalidEvent measures refusing an event whose detail has
// an unknown field: no remote call but the outcome's publication.
func BenchmarkRejectInvalidEvent(b *testing.B) {
	e := newEnv(b)
	ev := request("invalid", provisioning.ProvisionAPIKey, map[string]any{"connection": platform, "name": "x", "typo": true})
	for b.Loop() {
		if err := e.st.Provisioning.Handle(context.Background(), ev); err != nil {
			b.Fatal(err)
		}
	}
}
