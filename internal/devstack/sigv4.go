package devstack

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/ddconn/ddconn/pkg/awsconfig"
)

// SigV4 verification of the API (Options.RequireSigV4), as API Gateway's
// IAM authorisation checks every request of a deployed stack.
const (
	// SigV4Service is the service name requests are signed for.
	SigV4Service = "execute-api"
	// sigV4Algorithm is the only signing algorithm accepted.
	sigV4Algorithm = "AWS4-HMAC-SHA256"
	// sigV4TimeFormat is the format of X-Amz-Date.
	sigV4TimeFormat = "20060102T150405Z"
	// sigV4MaxSkew is how far X-Amz-Date may be from the server's clock,
	// as API Gateway allows.
	sigV4MaxSkew = 5 * time.Minute
	// sigV4MaxBody bounds the body read to hash it; the API refuses bodies
	// far smaller than this.
	sigV4MaxBody = 1 << 20
)

// SigV4Credentials are the credentials Options.RequireSigV4 verifies
// signatures against: the static test credentials (awsconfig.StaticKey as
// both the access key id and the secret).
var SigV4Credentials = aws.Credentials{AccessKeyID: awsconfig.StaticKey, SecretAccessKey: awsconfig.StaticKey}

// requireSigV4 refuses, with 403 and API Gateway's error shape
// ({"message": …}), every request that is not signed for SigV4Service in
// region with SigV4Credentials, or whose method, path, query, signed
// headers or body differ from what was signed.
func requireSigV4(next http.Handler, region string, now func() time.Time) http.Handler {
	signer := v4.NewSigner()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := verifySigV4(r, signer, region, now()); err != nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_ = json.NewEncoder(w).Encode(map[string]string{"message": err.Error()})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// sigV4Auth is a parsed Authorization header.
type sigV4Auth struct {
	accessKeyID, date, region, service string
	signedHeaders, signature           string
}

func parseSigV4Auth(header string) (sigV4Auth, error) {
	var a sigV4Auth
	rest, ok := strings.CutPrefix(header, sigV4Algorithm+" ")
	if !ok {
		return a, errors.New("missing authentication token: the request is not signed with " + sigV4Algorithm)
	}
	for part := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			scope := strings.Split(v, "/")
			if len(scope) != 5 || scope[4] != "aws4_request" {
				return a, errors.New("malformed credential scope")
			}
			a.accessKeyID, a.date, a.region, a.service = scope[0], scope[1], scope[2], scope[3]
		case "SignedHeaders":
			a.signedHeaders = v
		case "Signature":
			a.signature = v
		}
	}
	if a.accessKeyID == "" || a.signedHeaders == "" || a.signature == "" {
		return a, errors.New("malformed Authorization header")
	}
	return a, nil
}

// verifySigV4 signs a copy of r — its method, URL, the headers it signed
// and the hash of its body — with the SDK's own signer and
// SigV4Credentials, at the time r was signed, and compares the signatures.
// r's body is restored for the next handler.
func verifySigV4(r *http.Request, signer *v4.Signer, region string, now time.Time) error {
	a, err := parseSigV4Auth(r.Header.Get("Authorization"))
	if err != nil {
		return err
	}
	if a.accessKeyID != SigV4Credentials.AccessKeyID {
		return errors.New("the security token included in the request is invalid: unknown access key id")
	}
	if a.service != SigV4Service || a.region != region {
		return fmt.Errorf("credential scope %s/%s: want %s/%s", a.region, a.service, region, SigV4Service)
	}
	signedAt, err := time.Parse(sigV4TimeFormat, r.Header.Get("X-Amz-Date"))
	if err != nil {
		return errors.New("missing or malformed X-Amz-Date")
	}
	if a.date != signedAt.Format("20060102") {
		return errors.New("the credential scope's date is not the date of X-Amz-Date")
	}
	if d := now.Sub(signedAt); d > sigV4MaxSkew || d < -sigV4MaxSkew {
		return errors.New("signature expired: X-Amz-Date is more than 5 minutes from the server's time")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, sigV4MaxBody+1))
	if err != nil || len(body) > sigV4MaxBody {
		return errors.New("the body could not be read to check its signature")
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	sum := sha256.Sum256(body)

	want, err := http.NewRequestWithContext(r.Context(), r.Method, "", nil)
	if err != nil {
		return err
	}
	want.URL = &url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	want.Host = r.Host
	for name := range strings.SplitSeq(a.signedHeaders, ";") {
		switch name {
		case "host":
		case "content-length":
			want.ContentLength = r.ContentLength
		default:
			for _, v := range r.Header.Values(name) {
				want.Header.Add(name, v)
			}
		}
	}
	if err := signer.SignHTTP(r.Context(), SigV4Credentials, want, hex.EncodeToString(sum[:]), SigV4Service, region, signedAt); err != nil {
		return fmt.Errorf("signing the request to check it: %w", err)
	}
	expected, err := parseSigV4Auth(want.Header.Get("Authorization"))
	if err != nil {
		return err
	}
	if expected.signedHeaders != a.signedHeaders ||
		subtle.ConstantTimeCompare([]byte(expected.signature), []byte(a.signature)) != 1 {
		return errors.New("the request signature we calculated does not match the signature you provided")
	}
	return nil
}
