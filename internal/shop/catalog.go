package shop

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/database"
)

// ProductInput is a product with all its SKUs as the shop's store has it.
type ProductInput struct {
	Shop     string     `json:"shop,omitempty" doc:"The shop's code; may be left out while Kefu mirrors one shop"`
	Code     string     `json:"code" required:"false" maxLength:"100" doc:"Required; PUT takes it from the path"`
	Name     string     `json:"name" maxLength:"300"`
	Supplier string     `json:"supplier,omitempty" maxLength:"200"`
	Category string     `json:"category,omitempty" maxLength:"100"`
	Material string     `json:"material,omitempty" maxLength:"200"`
	Terms    Terms      `json:"terms,omitempty" doc:"Terms of every SKU, over the shop's defaults"`
	SKUs     []SKUInput `json:"skus" doc:"Every SKU on sale; a SKU Kefu had that is not listed is archived"`
}

// SKUInput is one SKU of a ProductInput.
type SKUInput struct {
	Code          string      `json:"code" maxLength:"100"`
	Name          string      `json:"name,omitempty" maxLength:"300"`
	Size          string      `json:"size,omitempty" maxLength:"50"`
	Colour        string      `json:"colour,omitempty" maxLength:"100"`
	Material      string      `json:"material,omitempty" maxLength:"200"`
	Price         string      `json:"price,omitempty" doc:"Decimal amount in the shop's currency"`
	StockStatus   StockStatus `json:"stock_status,omitempty" enum:"in_stock,low_stock,out_of_stock,preorder,discontinued," doc:"Default in_stock"`
	StockQuantity *int        `json:"stock_quantity,omitempty" minimum:"0"`
	Terms         Terms       `json:"terms,omitempty" doc:"Terms of this SKU, over the product's"`
}

// product validates in into the product it describes.
func (in *ProductInput) product(sh *Shop) (*Product, error) {
	var fs kefu.Fields
	p := &Product{Shop: sh.Code, Code: strings.TrimSpace(in.Code), Name: strings.TrimSpace(in.Name), Supplier: strings.TrimSpace(in.Supplier),
		Category: strings.TrimSpace(in.Category), Material: strings.TrimSpace(in.Material), Terms: in.Terms, SKUs: []SKU{}}
	checkCode(&fs, at{}, "code", p.Code)
	checkText(&fs, at{}, "name", p.Name, 1, 300)
	checkText(&fs, at{}, "supplier", p.Supplier, 0, 200)
	checkText(&fs, at{}, "category", p.Category, 0, 100)
	checkText(&fs, at{}, "material", p.Material, 0, 200)
	in.Terms.validate(&fs, "terms.")
	if len(in.SKUs) == 0 {
		fs.Add("skus", "must list at least one SKU")
	}
	seen := map[string]int{}
	for i, si := range in.SKUs {
		f := at{list: "skus", i: i}
		k := SKU{Code: strings.TrimSpace(si.Code), Name: strings.TrimSpace(si.Name), Size: strings.TrimSpace(si.Size),
			Colour: strings.TrimSpace(si.Colour), Material: strings.TrimSpace(si.Material), StockStatus: si.StockStatus,
			StockQuantity: si.StockQuantity, Terms: si.Terms}
		checkCode(&fs, f, "code", k.Code)
		if j, dup := seen[k.Code]; dup && k.Code != "" {
			fs.Add(f.field("code"), "repeats skus[%d]", j)
		}
		seen[k.Code] = i
		checkText(&fs, f, "name", k.Name, 0, 300)
		checkText(&fs, f, "size", k.Size, 0, 50)
		checkText(&fs, f, "colour", k.Colour, 0, 100)
		checkText(&fs, f, "material", k.Material, 0, 200)
		price, msg := parseMoney(si.Price, sh.Currency)
		if msg != "" {
			fs.Add(f.field("price"), "%s", msg)
		} else if price < 0 {
			fs.Add(f.field("price"), "must not be negative")
		}
		k.Price = formatMoney(price, sh.Currency)
		if k.StockStatus == "" {
			k.StockStatus = InStock
		}
		if !slices.Contains(StockStatuses, k.StockStatus) {
			fs.Add(f.field("stock_status"), "must be one of in_stock, low_stock, out_of_stock, preorder, discontinued")
		}
		if k.StockQuantity != nil && *k.StockQuantity < 0 {
			fs.Add(f.field("stock_quantity"), "must not be negative")
		}
		si.Terms.validate(&fs, f.field("terms."))
		p.SKUs = append(p.SKUs, k)
	}
	return p, fs.Err()
}

// checkCode checks a shop's own key (product or SKU code, order number).
func checkCode(fs *kefu.Fields, a at, name, code string) {
	switch {
	case code == "":
		fs.Add(a.field(name), "is required")
	case len(code) > 100:
		fs.Add(a.field(name), "must be at most 100 bytes")
	case strings.ContainsAny(code, "/?#\x00\n\r\t"):
		fs.Add(a.field(name), "must not contain / ? # or control characters")
	}
}

func checkText(fs *kefu.Fields, a at, name, v string, least, most int) {
	n := utf8.RuneCountInString(v)
	switch {
	case n < least:
		fs.Add(a.field(name), "is required")
	case n > most:
		fs.Add(a.field(name), "must be at most %d characters", most)
	}
}

// at names a part of an input (items[2], or the top level); the names of
// its fields are built only for a problem: an import checks millions.
type at struct {
	prefix string // an enclosing part, such as "shipments[0]."
	list   string // "items"; "" for the top level
	i      int
}

func (a at) field(name string) string {
	if a.list == "" {
		return a.prefix + name
	}
	return fmt.Sprintf("%s%s[%d].%s", a.prefix, a.list, a.i, name)
}

// CreateProduct stores a new product; one whose code the shop already has
// is a conflict (change it with UpsertProduct).
func (s *Service) CreateProduct(ctx context.Context, in ProductInput) (*Product, error) {
	p, _, err := s.saveProduct(ctx, in, 0, true)
	return p, err
}

// UpsertProduct creates or replaces the product with in.Code: its fields
// and SKUs become in's, SKUs it no longer lists are archived. version,
// when not 0, must be the stored one. created says which it was.
func (s *Service) UpsertProduct(ctx context.Context, in ProductInput, version int) (p *Product, created bool, err error) {
	return s.saveProduct(ctx, in, version, false)
}

func (s *Service) saveProduct(ctx context.Context, in ProductInput, version int, createOnly bool) (*Product, bool, error) {
	if err := requireWrite(ctx); err != nil {
		return nil, false, err
	}
	var id, code string
	var before int
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		sh, err := s.shop(ctx, tx, in.Shop)
		if err != nil {
			return err
		}
		code = sh.Code
		id, before, err = s.putProduct(ctx, tx, sh, in, version, createOnly)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	p, err := s.product(ctx, s.DB.Write, code, id)
	return p, before == 0, err
}

// putProduct writes a product in tx and returns its id and the version it
// had before (0 when new).
func (s *Service) putProduct(ctx context.Context, tx *sql.Tx, sh *Shop, in ProductInput, version int, createOnly bool) (string, int, error) {
	next, err := in.product(sh)
	if err != nil {
		return "", 0, err
	}
	cur, err := s.productByCode(ctx, tx, sh, next.Code)
	if err != nil && !kefu.IsCode(err, kefu.NotFound) {
		return "", 0, err
	}
	if cur != nil && createOnly {
		return "", 0, &kefu.Error{Code: kefu.Conflict, Message: "product exists",
			Fields: []kefu.FieldError{{Field: "code", Message: fmt.Sprintf("product %s exists already; PUT /products/%s changes it", next.Code, next.Code)}}}
	}
	if version != 0 && (cur == nil || cur.Version != version) {
		now := 0
		var current any
		if cur != nil {
			now, current = cur.Version, cur
		}
		return "", 0, &kefu.Error{Code: kefu.Stale, Message: fmt.Sprintf("product %s changed since version %d; it is now version %d", next.Code, version, now), Current: current}
	}
	// A SKU belongs to one product: moving it is a mistake to point out.
	codes := make([]string, len(next.SKUs))
	for i, k := range next.SKUs {
		codes[i] = k.Code
	}
	owners, err := skuOwners(ctx, tx, sh.ID, codes)
	if err != nil {
		return "", 0, err
	}
	var fs kefu.Fields
	for i, k := range next.SKUs {
		if o, ok := owners[k.Code]; ok && (cur == nil || o.product != cur.ID) {
			fs.Add(fmt.Sprintf("skus[%d].code", i), "belongs to product %s", o.code)
		}
	}
	if err := fs.Err(); err != nil {
		e := err.(*kefu.Error)
		e.Code, e.Message = kefu.Conflict, "SKU of another product"
		return "", 0, e
	}
	now := s.Now()
	changes := map[string]audit.Change{}
	var old *Product
	if cur != nil {
		old = cur
	} else {
		old = &Product{}
	}
	audit.Diff(changes, "name", old.Name, next.Name)
	audit.Diff(changes, "supplier", old.Supplier, next.Supplier)
	audit.Diff(changes, "category", old.Category, next.Category)
	audit.Diff(changes, "material", old.Material, next.Material)
	audit.Diff(changes, "terms", termsOrNil(old.Terms), termsOrNil(next.Terms))
	audit.Diff(changes, "sku_order", skuCodes(old.SKUs), skuCodes(next.SKUs))
	oldSKUs, newSKUs := skuSummary(old.SKUs), skuSummary(next.SKUs)
	for c, v := range newSKUs {
		audit.Diff(changes, "sku "+c, oldSKUs[c], v)
	}
	for c, v := range oldSKUs {
		if _, kept := newSKUs[c]; !kept && !strings.HasSuffix(v, " archived") {
			audit.Diff(changes, "sku "+c, v, v+" archived")
		}
	}
	terms, _ := json.Marshal(next.Terms)
	if cur == nil {
		id := kefu.NewID()
		_, err := tx.ExecContext(ctx, `INSERT INTO products (id, shop_id, code, name, supplier, category, material, terms, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)`, id, sh.ID, next.Code, next.Name, next.Supplier, next.Category, next.Material, string(terms), now)
		if err != nil {
			return "", 0, fmt.Errorf("shop: create product: %w", err)
		}
		if err := s.writeSKUs(ctx, tx, sh, id, nil, next.SKUs); err != nil {
			return "", 0, err
		}
		return id, 0, audit.Record(ctx, tx, now, audit.Entry{Action: "create", Entity: "product", EntityID: id, Changes: changes})
	}
	if len(changes) == 0 {
		return cur.ID, cur.Version, nil
	}
	_, err = tx.ExecContext(ctx, `UPDATE products SET name = $2, supplier = $3, category = $4, material = $5, terms = $6,
		version = version + 1, updated_at = $7 WHERE id = $1`, cur.ID, next.Name, next.Supplier, next.Category, next.Material, string(terms), now)
	if err != nil {
		return "", 0, fmt.Errorf("shop: update product: %w", err)
	}
	if err := s.writeSKUs(ctx, tx, sh, cur.ID, cur.SKUs, next.SKUs); err != nil {
		return "", 0, err
	}
	return cur.ID, cur.Version, audit.Record(ctx, tx, now, audit.Entry{Action: "update", Entity: "product", EntityID: cur.ID, Changes: changes})
}

// termsOrNil shows empty terms as absent in the audit trail.
func termsOrNil(t Terms) any {
	if t == (Terms{}) {
		return nil
	}
	return t
}

// skuCodes lists the SKUs on sale, in order.
func skuCodes(ks []SKU) []string {
	out := []string{}
	for _, k := range ks {
		if !k.Archived {
			out = append(out, k.Code)
		}
	}
	return out
}

// skuSummary is each SKU as one line of the audit trail.
func skuSummary(ks []SKU) map[string]string {
	out := make(map[string]string, len(ks))
	for _, k := range ks {
		terms, _ := json.Marshal(k.Terms)
		qty := ""
		if k.StockQuantity != nil {
			qty = fmt.Sprintf(" ×%d", *k.StockQuantity)
		}
		line := strings.Join(slices.DeleteFunc([]string{k.Name, k.Size, k.Colour, k.Material}, func(s string) bool { return s == "" }), "/")
		line += fmt.Sprintf(" %s %s%s %s", k.Price, k.StockStatus, qty, terms)
		if k.Archived {
			line += " archived"
		}
		out[k.Code] = strings.TrimSpace(line)
	}
	return out
}

// writeSKUs makes the product's SKUs next: new ones inserted, kept ones
// updated in place (their ids stay), dropped ones archived.
func (s *Service) writeSKUs(ctx context.Context, tx *sql.Tx, sh *Shop, productID string, cur, next []SKU) error {
	now := s.Now()
	byCode := map[string]SKU{}
	for _, k := range cur {
		byCode[k.Code] = k
	}
	ins := database.NewBulkInsert(s.DB.Dialect, `skus (id, product_id, shop_id, code, name, size, colour, material, price_minor, stock_status,
		stock_quantity, terms, position, created_at, updated_at)`, 15)
	for i, k := range next {
		price, _ := parseMoney(k.Price, sh.Currency)
		terms, _ := json.Marshal(k.Terms)
		if old, ok := byCode[k.Code]; ok {
			delete(byCode, k.Code)
			_, err := tx.ExecContext(ctx, `UPDATE skus SET name = $2, size = $3, colour = $4, material = $5, price_minor = $6,
				stock_status = $7, stock_quantity = $8, terms = $9, position = $10, archived = false, updated_at = $11 WHERE id = $1`,
				old.ID, k.Name, k.Size, k.Colour, k.Material, price, string(k.StockStatus), k.StockQuantity, string(terms), i, now)
			if err != nil {
				return fmt.Errorf("shop: update SKU: %w", err)
			}
			continue
		}
		ins.Add(kefu.NewID(), productID, sh.ID, k.Code, k.Name, k.Size, k.Colour, k.Material, price, string(k.StockStatus),
			k.StockQuantity, string(terms), i, now, now)
	}
	if err := ins.Exec(ctx, tx); err != nil {
		return fmt.Errorf("shop: SKUs: %w", err)
	}
	for _, gone := range byCode {
		if _, err := tx.ExecContext(ctx, `UPDATE skus SET archived = true, position = $2, updated_at = $3 WHERE id = $1`,
			gone.ID, len(next)+gone.position(cur), now); err != nil {
			return fmt.Errorf("shop: archive SKU: %w", err)
		}
	}
	return nil
}

// position is k's index in ks, to keep archived SKUs in their old order
// after the current ones.
func (k SKU) position(ks []SKU) int {
	return slices.IndexFunc(ks, func(o SKU) bool { return o.Code == k.Code })
}

type owner struct{ product, code string }

// skuOwners maps each of codes that the shop has to its product.
func skuOwners(ctx context.Context, q database.Querier, shopID string, codes []string) (map[string]owner, error) {
	out := map[string]owner{}
	if len(codes) == 0 {
		return out, nil
	}
	args := []any{shopID}
	for _, c := range codes {
		args = append(args, c)
	}
	rows, err := q.QueryContext(ctx, `SELECT k.code, CAST(p.id AS text), p.code FROM skus k JOIN products p ON p.id = k.product_id
		WHERE k.shop_id = $1 AND k.code IN (`+database.Placeholders(2, len(codes))+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("shop: SKU owners: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c string
		var o owner
		if err := rows.Scan(&c, &o.product, &o.code); err != nil {
			return nil, err
		}
		out[c] = o
	}
	return out, rows.Err()
}

const productColumns = `CAST(p.id AS text), s.code, p.code, p.name, p.supplier, p.category, p.material, p.terms, p.version, p.created_at, p.updated_at`

func scanProduct(row interface{ Scan(...any) error }) (*Product, error) {
	var p Product
	var terms string
	if err := row.Scan(&p.ID, &p.Shop, &p.Code, &p.Name, &p.Supplier, &p.Category, &p.Material, &terms, &p.Version, &p.CreatedAt, &p.UpdatedAt); err != nil {
		return nil, err
	}
	p.CreatedAt, p.UpdatedAt, p.SKUs = p.CreatedAt.UTC(), p.UpdatedAt.UTC(), []SKU{}
	if err := json.Unmarshal([]byte(terms), &p.Terms); err != nil {
		return nil, fmt.Errorf("product %s: terms: %w", p.Code, err)
	}
	return &p, nil
}

func (s *Service) productByCode(ctx context.Context, q database.Querier, sh *Shop, code string) (*Product, error) {
	p, err := scanProduct(q.QueryRowContext(ctx, `SELECT `+productColumns+` FROM products p JOIN shops s ON s.id = p.shop_id
		WHERE p.shop_id = $1 AND p.code = $2`, sh.ID, code))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kefu.Errorf(kefu.NotFound, "no product %s", code)
	}
	if err != nil {
		return nil, fmt.Errorf("shop: product: %w", err)
	}
	return p, loadSKUs(ctx, q, sh, []*Product{p})
}

// Product returns a product by id or by code in a shop ("" for the only
// one), with its SKUs and the terms that apply to each.
func (s *Service) Product(ctx context.Context, shopCode, idOrCode string) (*Product, error) {
	if err := requireRead(ctx); err != nil {
		return nil, err
	}
	return s.product(ctx, s.DB.Read, shopCode, idOrCode)
}

func (s *Service) product(ctx context.Context, q database.Querier, shopCode, idOrCode string) (*Product, error) {
	if kefu.ValidID(idOrCode) {
		var shopOf, code string
		err := q.QueryRowContext(ctx, `SELECT s.code, p.code FROM products p JOIN shops s ON s.id = p.shop_id WHERE p.id = $1`, idOrCode).Scan(&shopOf, &code)
		if err == nil {
			shopCode, idOrCode = shopOf, code
		} else if !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("shop: product: %w", err)
		}
	}
	sh, err := s.shop(ctx, q, shopCode)
	if err != nil {
		return nil, err
	}
	return s.productByCode(ctx, q, sh, idOrCode)
}

// loadSKUs fills the SKUs of ps, all of shop sh, with their effective
// terms.
func loadSKUs(ctx context.Context, q database.Querier, sh *Shop, ps []*Product) error {
	if len(ps) == 0 {
		return nil
	}
	byID := make(map[string]*Product, len(ps))
	args := make([]any, len(ps))
	for i, p := range ps {
		byID[p.ID], args[i] = p, p.ID
	}
	rows, err := q.QueryContext(ctx, `SELECT CAST(product_id AS text), `+skuColumns+` FROM skus k
		WHERE k.product_id IN (`+database.Placeholders(1, len(ps))+`) ORDER BY k.position, k.code`, args...)
	if err != nil {
		return fmt.Errorf("shop: SKUs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var pid string
		k, err := scanSKU(rows, sh, &pid)
		if err != nil {
			return err
		}
		p := byID[pid]
		e := Resolve(sh.Terms, p.Terms, k.Terms)
		k.Effective = &e
		p.SKUs = append(p.SKUs, *k)
	}
	return rows.Err()
}

const skuColumns = `CAST(k.id AS text), k.code, k.name, k.size, k.colour, k.material, k.price_minor, k.stock_status, k.stock_quantity, k.terms, k.archived`

// scanSKU reads skuColumns after the extra destinations first.
func scanSKU(row interface{ Scan(...any) error }, sh *Shop, first ...any) (*SKU, error) {
	var k SKU
	var price int64
	var qty sql.NullInt64
	var terms string
	dest := append(first, &k.ID, &k.Code, &k.Name, &k.Size, &k.Colour, &k.Material, &price, &k.StockStatus, &qty, &terms, &k.Archived)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	k.Price = formatMoney(price, sh.Currency)
	if qty.Valid {
		n := int(qty.Int64)
		k.StockQuantity = &n
	}
	if err := json.Unmarshal([]byte(terms), &k.Terms); err != nil {
		return nil, fmt.Errorf("SKU %s: terms: %w", k.Code, err)
	}
	return &k, nil
}

// ProductFilter selects products for a list.
type ProductFilter struct {
	Shop        string
	Supplier    string
	Category    string
	StockStatus StockStatus // products with a SKU in this status
	Query       string      // a code prefix, or a part of the name
	Cursor      string
	Limit       int
}

// ProductPage is one page of products.
type ProductPage struct {
	Products   []*Product `json:"products"`
	NextCursor string     `json:"next_cursor" doc:"Pass as cursor for the next page; empty on the last page"`
}

// Products lists a shop's products, newest first.
func (s *Service) Products(ctx context.Context, f ProductFilter) (*ProductPage, error) {
	if err := requireRead(ctx); err != nil {
		return nil, err
	}
	sh, err := s.shop(ctx, s.DB.Read, f.Shop)
	if err != nil {
		return nil, err
	}
	var fs kefu.Fields
	w := newWhere()
	w.add("p.shop_id = ?", sh.ID)
	if f.Supplier != "" {
		w.add("p.supplier = ?", f.Supplier)
	}
	if f.Category != "" {
		w.add("p.category = ?", f.Category)
	}
	if f.StockStatus != "" {
		if !slices.Contains(StockStatuses, f.StockStatus) {
			fs.Add("stock_status", "must be one of in_stock, low_stock, out_of_stock, preorder, discontinued")
		}
		w.add("EXISTS (SELECT 1 FROM skus k WHERE k.product_id = p.id AND NOT k.archived AND k.stock_status = ?)", string(f.StockStatus))
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		w.add("((p.code >= ? AND p.code < ?) OR lower(p.name) LIKE ?)", q, q+"\uffff", "%"+strings.ToLower(q)+"%")
	}
	limit := w.page(&fs, f.Cursor, f.Limit, "p.id")
	if err := fs.Err(); err != nil {
		return nil, err
	}
	rows, err := s.DB.Read.QueryContext(ctx, `SELECT `+productColumns+` FROM products p JOIN shops s ON s.id = p.shop_id WHERE `+
		w.String()+fmt.Sprintf(` ORDER BY p.id DESC LIMIT %d`, limit+1), w.args...)
	if err != nil {
		return nil, fmt.Errorf("shop: products: %w", err)
	}
	defer rows.Close()
	page := &ProductPage{Products: []*Product{}}
	for rows.Next() {
		p, err := scanProduct(rows)
		if err != nil {
			return nil, err
		}
		page.Products = append(page.Products, p)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(page.Products) > limit {
		page.Products = page.Products[:limit]
		page.NextCursor = cursorAfter(page.Products[limit-1].ID)
	}
	return page, loadSKUs(ctx, s.DB.Read, sh, page.Products)
}

// SKU returns a catalogued SKU with its product and the terms that apply.
func (s *Service) SKU(ctx context.Context, shopCode, code string) (*SKUDetail, error) {
	if err := requireRead(ctx); err != nil {
		return nil, err
	}
	sh, err := s.shop(ctx, s.DB.Read, shopCode)
	if err != nil {
		return nil, err
	}
	ds, err := skuDetails(ctx, s.DB.Read, sh, []string{code})
	if err != nil {
		return nil, err
	}
	d, ok := ds[code]
	if !ok {
		return nil, kefu.Errorf(kefu.NotFound, "no SKU %s", code)
	}
	return d, nil
}

// skuDetails looks up the catalogued SKUs among codes, with their
// effective terms.
func skuDetails(ctx context.Context, q database.Querier, sh *Shop, codes []string) (map[string]*SKUDetail, error) {
	out := map[string]*SKUDetail{}
	if len(codes) == 0 {
		return out, nil
	}
	args := []any{sh.ID}
	for _, c := range codes {
		args = append(args, c)
	}
	rows, err := q.QueryContext(ctx, `SELECT p.code, p.name, p.supplier, p.category, p.material, p.terms, `+skuColumns+`
		FROM skus k JOIN products p ON p.id = k.product_id WHERE k.shop_id = $1 AND k.code IN (`+database.Placeholders(2, len(codes))+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("shop: SKUs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		d := &SKUDetail{Shop: sh.Code}
		var material, terms string
		k, err := scanSKU(rows, sh, &d.Product, &d.ProductName, &d.Supplier, &d.Category, &material, &terms)
		if err != nil {
			return nil, err
		}
		var pt Terms
		if err := json.Unmarshal([]byte(terms), &pt); err != nil {
			return nil, fmt.Errorf("product %s: terms: %w", d.Product, err)
		}
		if k.Material == "" {
			k.Material = material
		}
		e := Resolve(sh.Terms, pt, k.Terms)
		k.Effective = &e
		d.SKU = *k
		out[k.Code] = d
	}
	return out, rows.Err()
}

// where builds a filter with ? placeholders numbered as they are added.
type where struct {
	conds []string
	args  []any
}

func newWhere() *where { return &where{} }

func (w *where) add(cond string, vals ...any) {
	for _, v := range vals {
		w.args = append(w.args, v)
		cond = strings.Replace(cond, "?", fmt.Sprintf("$%d", len(w.args)), 1)
	}
	w.conds = append(w.conds, cond)
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return "1=1"
	}
	return strings.Join(w.conds, " AND ")
}

// page adds the cursor condition on col (ids are UUIDv7: id order is
// creation order) and returns the page size.
func (w *where) page(fs *kefu.Fields, cursor string, limit int, col string) int {
	if cursor != "" {
		last, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || !kefu.ValidID(string(last)) {
			fs.Add("cursor", "is not a cursor from a previous page")
		} else {
			w.add(col+" < ?", string(last))
		}
	}
	switch {
	case limit <= 0:
		limit = 25
	case limit > 100:
		fs.Add("limit", "must be at most 100")
	}
	return limit
}

func cursorAfter(id string) string { return base64.RawURLEncoding.EncodeToString([]byte(id)) }
