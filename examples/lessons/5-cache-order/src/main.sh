echo "hello, using $(ls /app/deps | wc -l) dependencies"
