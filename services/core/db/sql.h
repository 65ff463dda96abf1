#pragma once

#include <string>
#include <vector>

namespace pqxx {
class transaction_base;
}

namespace pulp::core::db {

// ARRAY['a','b']::text[] with every element quoted by the transaction's connection.
std::string TextArrayLiteral(pqxx::transaction_base& tx, const std::vector<std::string>& items);

}  // namespace pulp::core::db
