package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/goshop/platform/devstack/stack"
)

func TestWriteKafka(t *testing.T) {
	before := map[string]int64{"Fetch": 100, "Fetch order.events": 40, "Heartbeat": 7, "Heartbeat user": 7}
	after := map[string]int64{"Fetch": 500, "Fetch order.events": 240, "Fetch inventory.events": 200,
		"Produce": 100, "Produce order.events": 100, "Heartbeat": 7, "Heartbeat user": 7}
	var b bytes.Buffer
	writeKafka(&b, before, after, 100)
	want := "kafka    500 broker requests over 100 confirmed orders = 5.00/order\n" +
		"         Fetch          4.00/order\n" +
		"           inventory.events           2.00/order\n" +
		"           order.events               2.00/order\n" +
		"         Produce        1.00/order\n" +
		"           order.events               1.00/order\n"
	if b.String() != want {
		t.Errorf("writeKafka wrote\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	writeKafka(&b, nil, after, 100)
	writeKafka(&b, before, after, 0)
	if b.Len() != 0 {
		t.Errorf("writeKafka without counts or orders wrote %q", b.String())
	}
}

func TestKafkaCounts(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != stack.KafkaCountsPath {
			http.NotFound(w, r)
			return
		}
		json.NewEncoder(w).Encode(map[string]int64{"Fetch": 3})
	}))
	defer srv.Close()
	if got := kafkaCounts(context.Background(), srv.URL+stack.KafkaCountsPath); got["Fetch"] != 3 {
		t.Errorf("kafkaCounts = %v, want Fetch 3", got)
	}
	if got := kafkaCounts(context.Background(), srv.URL+"/elsewhere"); got != nil {
		t.Errorf("kafkaCounts of a 404 = %v, want nil", got)
	}
	if got, want := kafkaCountsURL(3208), "http://127.0.0.1:9342"+stack.KafkaCountsPath; got != want {
		t.Errorf("kafkaCountsURL(3208) = %q, want %q", got, want)
	}
}
