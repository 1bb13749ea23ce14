// Command webhook-receiver receives stablegate's webhooks: it verifies the signature of the raw
// body with the endpoint's secret, answers 2xx at once, and acts on order.completed only once per
// event id (deliveries are retried, so an event may arrive twice).
//
//	STABLEGATE_WEBHOOK_SECRET=whsec_… go run ./examples/webhook-receiver
//	# then: PUT /api/v1/webhook/endpoint {"url":"http://127.0.0.1:3001/webhooks"}
package main

import (
	"encoding/json"
	"io"
	"log"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/stablegate/stablegate/client"
)

func main() {
	secret := os.Getenv("STABLEGATE_WEBHOOK_SECRET")
	var mu sync.Mutex
	seen := map[string]bool{} // your database, in a real shop
	http.HandleFunc("POST /webhooks", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "unreadable", http.StatusBadRequest)
			return
		}
		event, err := client.VerifyWebhook(secret, "", r.Header, body, time.Now())
		if err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		mu.Lock()
		first := !seen[event.ID]
		seen[event.ID] = true
		mu.Unlock()
		if first && event.Type == "order.completed" {
			var order client.Order
			if err := json.Unmarshal(event.Data, &order); err == nil {
				log.Printf("order %s (%s) paid: %s %s in %s", order.OrderID, order.OrderReference, order.PaidAmount, order.Currency, order.TxHash)
			}
		}
		w.WriteHeader(http.StatusNoContent)
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:3001", nil))
}
