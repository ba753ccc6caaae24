/* placeholder, replaced by the form script work */
