package pgtypes

// Kind is how a type's values map to JSON.
type Kind uint8

// The kinds of types; see the package documentation for their mapping.
const (
	Text Kind = iota // the default: a JSON string of the text form
	Int
	Float
	Numeric
	Bool
	Date
	Time
	TimeTZ
	Timestamp
	TimestampTZ
	Interval
	UUID
	JSON
	Bytea
	Array
	Enum
)

var kindNames = [...]string{"text", "int", "float", "numeric", "bool", "date", "time", "timetz", "timestamp",
	"timestamptz", "interval", "uuid", "json", "bytea", "array", "enum"}

// String returns the kind's name.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind?"
}

// Type is a PostgreSQL data type as far as value mapping needs.
type Type struct {
	OID  uint32
	Name string
	Kind Kind
	// Elem is the element type of an Array.
	Elem *Type
	// Delim separates array elements in the text form: ',' for every
	// built-in type but box (';').
	Delim byte
}

// builtin lists the types known by OID, so most columns need no catalog
// lookup. It is built once and never changed.
var builtin = builtinTypes()

func builtinTypes() map[uint32]Type {
	builtin := map[uint32]Type{}
	scalars := []Type{
		{OID: 16, Name: "bool", Kind: Bool}, {OID: 17, Name: "bytea", Kind: Bytea}, {OID: 18, Name: "char", Kind: Text},
		{OID: 19, Name: "name", Kind: Text}, {OID: 20, Name: "int8", Kind: Int}, {OID: 21, Name: "int2", Kind: Int},
		{OID: 23, Name: "int4", Kind: Int}, {OID: 25, Name: "text", Kind: Text}, {OID: 26, Name: "oid", Kind: Int},
		{OID: 114, Name: "json", Kind: JSON}, {OID: 142, Name: "xml", Kind: Text}, {OID: 650, Name: "cidr", Kind: Text},
		{OID: 700, Name: "float4", Kind: Float}, {OID: 701, Name: "float8", Kind: Float}, {OID: 790, Name: "money", Kind: Text},
		{OID: 829, Name: "macaddr", Kind: Text}, {OID: 869, Name: "inet", Kind: Text}, {OID: 1042, Name: "bpchar", Kind: Text},
		{OID: 1043, Name: "varchar", Kind: Text}, {OID: 1082, Name: "date", Kind: Date}, {OID: 1083, Name: "time", Kind: Time},
		{OID: 1114, Name: "timestamp", Kind: Timestamp}, {OID: 1184, Name: "timestamptz", Kind: TimestampTZ},
		{OID: 1186, Name: "interval", Kind: Interval}, {OID: 1266, Name: "timetz", Kind: TimeTZ},
		{OID: 1560, Name: "bit", Kind: Text}, {OID: 1562, Name: "varbit", Kind: Text}, {OID: 1700, Name: "numeric", Kind: Numeric},
		{OID: 2950, Name: "uuid", Kind: UUID}, {OID: 3802, Name: "jsonb", Kind: JSON}, {OID: 603, Name: "box", Kind: Text, Delim: ';'},
	}
	for _, t := range scalars {
		if t.Delim == 0 {
			t.Delim = ','
		}
		builtin[t.OID] = t
	}
	arrays := []struct{ oid, elem uint32 }{
		{1000, 16}, {1001, 17}, {1002, 18}, {1003, 19}, {1016, 20}, {1005, 21}, {1007, 23}, {1009, 25}, {1028, 26},
		{199, 114}, {143, 142}, {651, 650}, {1021, 700}, {1022, 701}, {791, 790}, {1040, 829}, {1041, 869},
		{1014, 1042}, {1015, 1043}, {1182, 1082}, {1183, 1083}, {1115, 1114}, {1185, 1184}, {1187, 1186},
		{1270, 1266}, {1561, 1560}, {1563, 1562}, {1231, 1700}, {2951, 2950}, {3807, 3802}, {1020, 603},
	}
	for _, a := range arrays {
		elem := builtin[a.elem]
		builtin[a.oid] = Type{OID: a.oid, Name: "_" + elem.Name, Kind: Array, Elem: &elem, Delim: elem.Delim}
	}
	return builtin
}

// Builtin returns the built-in type with oid, and whether it is known.
func Builtin(oid uint32) (Type, bool) {
	t, ok := builtin[oid]
	return t, ok
}

// CatalogEntry is a row of pg_type, as FromCatalog needs it.
type CatalogEntry struct {
	OID      uint32
	Name     string
	Category byte   // typcategory: 'A' array, 'E' enum, ...
	TypType  byte   // typtype: 'b' base, 'd' domain, 'e' enum, ...
	Elem     uint32 // typelem, the element type of an array
	BaseType uint32 // typbasetype, the base type of a domain
	Delim    byte   // typdelim
}

// FromCatalog builds the Type of a catalog entry. resolve returns the Type
// of another OID (an array's element, a domain's base type). A domain maps
// as its base type; an unknown base type maps as text.
func FromCatalog(e CatalogEntry, resolve func(oid uint32) (Type, error)) (Type, error) {
	t := Type{OID: e.OID, Name: e.Name, Kind: Text, Delim: e.Delim}
	if t.Delim == 0 {
		t.Delim = ','
	}
	switch {
	case e.TypType == 'd' && e.BaseType != 0:
		base, err := resolve(e.BaseType)
		if err != nil {
			return Type{}, err
		}
		base.OID, base.Name = e.OID, e.Name
		return base, nil
	case e.TypType == 'e' || e.Category == 'E':
		t.Kind = Enum
	case e.Category == 'A' && e.Elem != 0:
		elem, err := resolve(e.Elem)
		if err != nil {
			return Type{}, err
		}
		t.Kind, t.Elem, t.Delim = Array, &elem, elem.Delim
	}
	return t, nil
}
