#include "services/core/db/sql.h"

#include <pqxx/pqxx>

namespace pulp::core::db {

std::string TextArrayLiteral(pqxx::transaction_base& tx, const std::vector<std::string>& items) {
  std::string out = "ARRAY[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ",";
    out += tx.quote(items[i]);
  }
  return out + "]::text[]";
}

}  // namespace pulp::core::db
