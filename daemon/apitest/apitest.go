// Package apitest sends test requests to the post's and HQ's HTTP APIs and
// reads their answers. Only tests import it.
package apitest

import (
	"io"
	"net/http"
	"testing"
)

// Send sends req with client and returns the response with its whole body
// read and closed, failing the test if either cannot be had.
func Send(t testing.TB, client *http.Client, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}
