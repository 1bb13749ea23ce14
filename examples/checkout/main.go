// Command checkout is a shop's checkout handler on stablegate's Go client: POST /checkout creates
// an order for the cart (the cart id as the order reference, so a double click creates one order)
// and redirects the buyer to the hosted payment page.
//
//	STABLEGATE_URL=http://127.0.0.1:8080 STABLEGATE_KEY=pk_test_… go run ./examples/checkout
//	curl -i -X POST 'http://127.0.0.1:3000/checkout?cart=cart_42&total=19.90'
package main

import (
	"errors"
	"log"
	"net/http"
	"os"

	"github.com/stablegate/stablegate/client"
)

func main() {
	sg := client.New(os.Getenv("STABLEGATE_URL"), os.Getenv("STABLEGATE_KEY"))
	http.HandleFunc("POST /checkout", func(w http.ResponseWriter, r *http.Request) {
		cart, total := r.URL.Query().Get("cart"), r.URL.Query().Get("total") // your shop knows these
		order, err := sg.CreateOrder(r.Context(), client.OrderInput{
			OrderReference: cart,
			Amount:         total, // a decimal string: never a float
			Currency:       "USDT",
			ChainID:        "devnet", // ethereum-sepolia in test mode, ethereum, tron, … in live mode
			SuccessURL:     "http://localhost/thanks",
		})
		var apiErr *client.Error
		switch {
		case errors.As(err, &apiErr) && apiErr.Status < 500:
			http.Error(w, apiErr.Message, http.StatusBadRequest) // e.g. "amount must be greater than zero"
			return
		case err != nil:
			http.Error(w, "payments are unavailable, try again", http.StatusServiceUnavailable)
			return
		}
		http.Redirect(w, r, order.PaymentURL, http.StatusSeeOther)
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:3000", nil))
}
