package secretstore

import "testing"

func TestTokenFor(t *testing.T) {
	a, b := TokenFor("7bf73129-1428-4cd3-a780-95db273d1602"), TokenFor("7bf73129-1428-4cd3-a780-95db273d1603")
	switch {
	case a != TokenFor("7bf73129-1428-4cd3-a780-95db273d1602"):
		t.Fatal("the same seed gave two tokens")
	case a == b:
		t.Fatal("two seeds gave one token")
	case len(a) != 36 || a[8] != '-' || a[14] != '8':
		t.Fatalf("token %q is not a version-8 UUID", a)
	}
}
